//! The one layer in front of every route, doing in one pass (one boxed future, no `from_fn`)
//! what used to be six layers: the request id (`x-request-id` on every answer), the request span
//! and closing log line ([`super::trace`]), the Host/Origin guard with CORS ([`super::origin`]),
//! authentication where the route needs it ([`crate::auth::layer::check`]), the request timeout
//! and the headers every answer carries ([`super::security`]). The body limit is axum's default
//! (2 MiB, [`crate::router::MAX_BODY_BYTES`]; routes that take more set their own).
//!
//! The timeout grows with a declared request body ([`time_allowed`]): an attachment upload on
//! a slow link is not cut off. It costs nothing for a handler that answers at its first poll:
//! the timer is only armed when the work is still pending (most requests never touch the timer
//! wheel).
//!
//! [`Front`] is applied per route (with `Router::layer`), so the matched route is known; the
//! router gives the public routes [`Front::open`], `/api` [`Front::guarding`] `Rest` and `/ws`
//! [`Front::guarding`] `WebSocket`.

use std::convert::Infallible;
use std::future::Future;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::extract::Request;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use futures_util::future::BoxFuture;
use tower::{Layer, Service};
use tracing::Instrument as _;

use super::origin::{OriginPolicy, Verdict, add_cors};
use super::security;
use super::trace::{REQUEST_ID, Seen};
use crate::auth::Auth;
use crate::auth::layer::{Surface, check, peer_ip};
use crate::auth::revocation::credential_of;

/// The layer; cheap to clone.
#[derive(Clone)]
pub struct Front {
    config: Arc<Config>,
    /// Which credential check the routes need (`None`: public routes).
    surface: Option<Surface>,
}

struct Config {
    policy: OriginPolicy,
    auth: Auth,
    timeout: Duration,
    /// Whether the server speaks TLS (answers then carry HSTS).
    tls: bool,
}

impl Front {
    pub fn new(policy: OriginPolicy, auth: Auth, timeout: Duration, tls: bool) -> Self {
        Front {
            config: Arc::new(Config {
                policy,
                auth,
                timeout,
                tls,
            }),
            surface: None,
        }
    }

    /// For routes open to everyone.
    pub fn open(&self) -> Self {
        Front {
            config: self.config.clone(),
            surface: None,
        }
    }

    /// For routes that need a credential, refused with the 401 body of `surface`.
    pub fn guarding(&self, surface: Surface) -> Self {
        Front {
            config: self.config.clone(),
            surface: Some(surface),
        }
    }
}

impl<S> Layer<S> for Front {
    type Service = FrontService<S>;

    fn layer(&self, inner: S) -> FrontService<S> {
        FrontService {
            inner,
            front: self.clone(),
        }
    }
}

/// The service [`Front`] wraps a route in.
pub struct FrontService<S> {
    inner: S,
    front: Front,
}

impl<S: Clone> Clone for FrontService<S> {
    fn clone(&self) -> Self {
        FrontService {
            inner: self.inner.clone(),
            front: self.front.clone(),
        }
    }
}

impl<S> Service<Request> for FrontService<S>
where
    S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Response, Infallible>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> Self::Future {
        // The clone that was made ready serves this request (tower's readiness contract).
        let ready = self.inner.clone();
        let inner = std::mem::replace(&mut self.inner, ready);
        Box::pin(handle(self.front.clone(), inner, req))
    }
}

/// The request's whole pass. Its future is the one allocation [`Front`] adds to a request, so
/// it is kept small: every part is pinned once where it is made (a future moved into another
/// is otherwise stored twice), and the rare slow paths (OAuth lookups) are boxed where they
/// are awaited (`auth::layer`). `size_of` tests below hold it there.
async fn handle<S>(front: Front, inner: S, req: Request) -> Result<Response, Infallible>
where
    S: Service<Request, Response = Response, Error = Infallible>,
{
    let seen = Seen::of(&req);
    let hsts = security::wants_hsts(front.config.tls, &req);
    let span = seen.span();
    let mut work = pin!(serve(&front, inner, req, seen.start));
    // A disabled span (the log below debug) is not worth a wrapper around every poll.
    let mut res = if span.is_disabled() {
        work.await
    } else {
        work.as_mut().instrument(span).await
    };
    seen.log_done(res.status().as_u16());
    let headers = res.headers_mut();
    headers.insert(REQUEST_ID, seen.id.header_value());
    security::add(headers, hsts);
    Ok(res)
}

/// Guard, authenticate, run the route within the timeout, add CORS headers.
async fn serve<S>(front: &Front, mut inner: S, mut req: Request, start: Instant) -> Response
where
    S: Service<Request, Response = Response, Error = Infallible>,
{
    let config = &*front.config;
    let allow_origin = match config.policy.judge(&req) {
        Verdict::Answer(res) => return res,
        Verdict::Pass(allow_origin) => allow_origin,
    };
    let surface = front.surface;
    let deadline = start + time_allowed(config.timeout, req.headers());
    let work = pin!(async move {
        if let Some(surface) = surface {
            let ip = peer_ip(&config.auth, &req);
            let checked = check(
                &config.auth,
                surface,
                req.method(),
                req.headers(),
                req.uri().query(),
                ip,
            )
            .await;
            match checked {
                Ok(principal) => {
                    if surface == Surface::WebSocket {
                        // What the hub keeps to close the socket when this is revoked.
                        let credential =
                            credential_of(&principal, req.headers(), req.uri().query());
                        req.extensions_mut().insert(credential);
                    }
                    req.extensions_mut().insert(principal);
                }
                Err(rejection) => return rejection.into_response(),
            }
        }
        match inner.call(req).await {
            Ok(res) => res,
            Err(never) => match never {},
        }
    });
    let mut res = within(deadline, work)
        .await
        .unwrap_or_else(|| StatusCode::REQUEST_TIMEOUT.into_response());
    if let Some(v) = allow_origin {
        add_cors(&mut res, v);
    }
    res
}

/// The slowest upload the request timeout waits for: a body declared with `Content-Length` adds
/// a second per this many bytes to it, so a 20 MiB attachment sent at 64 KiB/s is not cut off at
/// 30 s (only the attachment route accepts bodies over 2 MiB; the others answer 413 at once).
const SLOWEST_UPLOAD_BYTES_PER_SEC: u64 = 64 * 1024;
/// However large the declared body, the request ends after this.
const LONGEST_REQUEST: Duration = Duration::from_secs(10 * 60);

/// The time a request gets: `base`, plus the time its declared body takes at the slowest rate
/// waited for.
fn time_allowed(base: Duration, headers: &axum::http::HeaderMap) -> Duration {
    let declared = headers
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(0);
    let upload = Duration::from_secs(declared / SLOWEST_UPLOAD_BYTES_PER_SEC);
    base.saturating_add(upload).min(LONGEST_REQUEST.max(base))
}

/// `fut`'s output, or `None` at `deadline`. The timer is armed only once `fut` has returned
/// `Pending`, so work that completes at its first poll never touches the timer wheel. `fut` is
/// pinned by the caller: taken by value, it would be stored twice in this future.
pub async fn within<F: Future>(deadline: Instant, mut fut: Pin<&mut F>) -> Option<F::Output> {
    let mut timer: Pin<&mut Option<tokio::time::Sleep>> = pin!(None);
    std::future::poll_fn(move |cx| {
        if let Poll::Ready(out) = fut.as_mut().poll(cx) {
            return Poll::Ready(Some(out));
        }
        if timer.is_none() {
            timer.set(Some(tokio::time::sleep_until(deadline.into())));
        }
        match timer.as_mut().as_pin_mut() {
            Some(sleep) => sleep.poll(cx).map(|()| None),
            None => Poll::Pending,
        }
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_declared_body_extends_the_request_timeout_up_to_a_bound() {
        let base = Duration::from_secs(30);
        let with_length = |n: &str| {
            let mut h = axum::http::HeaderMap::new();
            h.insert(axum::http::header::CONTENT_LENGTH, n.parse().unwrap());
            time_allowed(base, &h)
        };
        assert_eq!(time_allowed(base, &axum::http::HeaderMap::new()), base);
        assert_eq!(with_length("1000"), base, "small bodies change nothing");
        let twenty_mib = (20 * 1024 * 1024).to_string();
        assert_eq!(with_length(&twenty_mib), Duration::from_secs(30 + 320));
        assert_eq!(with_length("18446744073709551615"), LONGEST_REQUEST);
        assert_eq!(with_length("not a number"), base);
    }

    /// The future every request allocates stays small (it was 8 KB with the OAuth lookups
    /// inline and futures stored twice, and cost more than a bare server's whole request).
    #[test]
    fn the_per_request_future_stays_small() {
        let settings = crate::config::Settings::for_data_dir(std::env::temp_dir());
        let auth = Auth::new(&settings, None);
        let policy = OriginPolicy::new(&settings, auth.clone());
        let front = Front::new(policy, auth.clone(), Duration::from_secs(1), false);
        let inner = tower::service_fn(|_: Request| async {
            Ok::<_, Infallible>(Response::new(axum::body::Body::empty()))
        });
        let req = Request::new(axum::body::Body::empty());
        let ip = std::net::IpAddr::from([127, 0, 0, 1]);
        let checked = check(&auth, Surface::Rest, req.method(), req.headers(), None, ip);
        let check_size = std::mem::size_of_val(&checked);
        drop(checked);
        let handled = handle(front, inner, req);
        let handle_size = std::mem::size_of_val(&handled);
        assert!(check_size <= 512, "auth check future: {check_size} bytes");
        assert!(handle_size <= 2560, "request future: {handle_size} bytes");
    }

    #[tokio::test]
    async fn within_gives_the_output_or_none_at_the_deadline() {
        let now = Instant::now();
        assert_eq!(
            within(now, pin!(async { 7 })).await,
            Some(7),
            "ready at once"
        );
        let soon = Instant::now() + Duration::from_millis(10);
        let never = pin!(std::future::pending::<()>());
        assert_eq!(within(soon, never).await, None);
        let later = Instant::now() + Duration::from_secs(30);
        let quick = pin!(tokio::time::sleep(Duration::from_millis(1)));
        assert_eq!(within(later, quick).await, Some(()), "pending, then ready");
    }
}
