//! The one layer in front of the router, doing in one pass (no boxed future, no `from_fn`)
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
//! [`Front`] wraps the whole router once (`router.rs`); the route a request goes to, and the
//! credential it needs, come from the [`RouteTable`] of the same patterns.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Request};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use futures_util::future::BoxFuture;
use pin_project_lite::pin_project;
use tokio::time::Sleep;
use tower::{Layer, Service};
use tracing::{Instrument as _, Span};

use super::origin::{OriginPolicy, Verdict, add_cors};
use super::security;
use super::trace::{REQUEST_ID, Seen};
use crate::auth::layer::{Asked, Surface, check, check_now};
use crate::auth::revocation::credential_of;
use crate::auth::{Auth, Principal};
use crate::routes::RouteTable;

/// The layer; cheap to clone.
#[derive(Clone)]
pub struct Front {
    config: Arc<Config>,
}

struct Config {
    policy: OriginPolicy,
    auth: Auth,
    timeout: Duration,
    /// Whether the server speaks TLS (answers then carry HSTS).
    tls: bool,
    /// Each route's pattern and the credential it needs.
    table: RouteTable,
}

impl Front {
    pub fn new(
        policy: OriginPolicy,
        auth: Auth,
        timeout: Duration,
        tls: bool,
        table: RouteTable,
    ) -> Self {
        Front {
            config: Arc::new(Config {
                policy,
                auth,
                timeout,
                tls,
                table,
            }),
        }
    }
}

impl<S> Layer<S> for Front {
    type Service = FrontService<S>;

    fn layer(&self, inner: S) -> FrontService<S> {
        FrontService {
            inner,
            front: self.clone(),
            peer: None,
        }
    }
}

/// The service [`Front`] wraps the router in; each connection has its own clone, told the
/// client's address ([`FrontService::set_peer`]).
pub struct FrontService<S> {
    inner: S,
    front: Front,
    /// The connection's peer: for the failed-attempt limiter, and as axum's `ConnectInfo` for
    /// the public routes (the OAuth sign-in pages limit by address). Not an extension on every
    /// request: with the caller's and axum's two, a fourth extension made each request's map
    /// grow.
    peer: Option<SocketAddr>,
}

impl<S: Clone> Clone for FrontService<S> {
    fn clone(&self) -> Self {
        FrontService {
            inner: self.inner.clone(),
            front: self.front.clone(),
            peer: self.peer,
        }
    }
}

impl<S> FrontService<S> {
    /// The client's address for every request this clone serves (one connection's).
    pub fn set_peer(&mut self, peer: SocketAddr) {
        self.peer = Some(peer);
    }
}

impl<S> Service<Request> for FrontService<S>
where
    S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = FrontFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    /// Guard and authenticate here, before any future exists, when that needs no lookup (the
    /// shared token, auth off, a refusal): the route is then called at once and its future
    /// wrapped in [`FrontFuture`]. The rest (an OAuth credential to look up, the request span
    /// at debug) takes [`handle`], an `async` pass of its own.
    fn call(&mut self, mut req: Request) -> Self::Future {
        let config = &*self.front.config;
        let known = config.table.of(req.uri().path());
        if known.surface.is_none()
            && let Some(peer) = self.peer
        {
            req.extensions_mut().insert(ConnectInfo(peer));
        }
        let seen = Seen::of(&req, known.route);
        let hsts = security::wants_hsts(config.tls, &req);
        let span = seen.span();
        if !span.is_disabled() {
            return self.handle(req, known.surface, seen, hsts, Some(span));
        }
        let allow_origin = match config.policy.judge(&req) {
            Verdict::Answer(res) => return FrontFuture::answered(finish(res, seen, hsts)),
            Verdict::Pass(allow_origin) => allow_origin,
        };
        if let Some(surface) = known.surface {
            match check_now(&config.auth, surface, Asked::of(&req, self.peer)) {
                Some(Ok(principal)) => admit(&mut req, surface, principal),
                Some(Err(rejection)) => {
                    let res = with_cors(rejection.into_response(), allow_origin);
                    return FrontFuture::answered(finish(res, seen, hsts));
                }
                None => return self.handle(req, known.surface, seen, hsts, None),
            }
        }
        let deadline = seen.start + time_allowed(config.timeout, req.headers());
        // `inner` is the instance `poll_ready` readied (tower's contract).
        FrontFuture::Running {
            work: self.inner.call(req),
            timer: None,
            deadline,
            allow_origin,
            done: Some((seen, hsts)),
        }
    }
}

impl<S> FrontService<S>
where
    S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    /// The `async` pass, boxed: it owns the ready router (a fresh clone stays behind, as
    /// tower's readiness contract wants).
    fn handle(
        &mut self,
        req: Request,
        surface: Option<Surface>,
        seen: Seen,
        hsts: bool,
        span: Option<Span>,
    ) -> FrontFuture<S::Future> {
        let ready = self.inner.clone();
        let inner = std::mem::replace(&mut self.inner, ready);
        let front = self.front.clone();
        let asking = Asking {
            req,
            surface,
            peer: self.peer,
        };
        FrontFuture::Boxed {
            fut: Box::pin(handle(front, inner, asking, seen, hsts, span)),
        }
    }
}

/// What the route needs to know of an admitted caller.
fn admit(req: &mut Request, surface: Surface, principal: Principal) {
    if surface == Surface::WebSocket {
        // What the hub keeps to close the socket when this is revoked.
        let credential = credential_of(&principal, req.headers(), req.uri().query());
        req.extensions_mut().insert(credential);
    }
    req.extensions_mut().insert(principal);
}

/// The headers every answer gets and the closing log line.
fn finish(mut res: Response, seen: Seen, hsts: bool) -> Response {
    seen.log_done(res.status().as_u16());
    let headers = res.headers_mut();
    headers.insert(REQUEST_ID, seen.id.header_value());
    security::add(headers, hsts);
    res
}

fn with_cors(mut res: Response, allow_origin: Option<HeaderValue>) -> Response {
    if let Some(v) = allow_origin {
        add_cors(&mut res, v);
    }
    res
}

pin_project! {
    /// A request's pass through [`Front`]: the route's own future with the request timeout
    /// around it (armed only once the route is still pending: most requests never touch the
    /// timer wheel), an answer given without calling the route, or the `async` pass.
    #[project = Pass]
    pub enum FrontFuture<F> {
        Running {
            #[pin]
            work: F,
            // Boxed when armed: most requests never arm it, and the future (moved into
            // hyper's slot for every request) stays a hundred bytes smaller.
            timer: Option<Pin<Box<Sleep>>>,
            deadline: Instant,
            allow_origin: Option<HeaderValue>,
            done: Option<(Seen, bool)>,
        },
        Answered { res: Option<Response> },
        Boxed { fut: BoxFuture<'static, Result<Response, Infallible>> },
    }
}

impl<F> FrontFuture<F> {
    fn answered(res: Response) -> Self {
        FrontFuture::Answered { res: Some(res) }
    }
}

impl<F> Future for FrontFuture<F>
where
    F: Future<Output = Result<Response, Infallible>>,
{
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project() {
            Pass::Running {
                work,
                timer,
                deadline,
                allow_origin,
                done,
            } => {
                // Finished already (polled again against the contract): nothing more comes.
                if done.is_none() {
                    return Poll::Pending;
                }
                let res = match work.poll(cx) {
                    Poll::Ready(Ok(res)) => res,
                    Poll::Ready(Err(never)) => match never {},
                    Poll::Pending => {
                        let sleep = timer.get_or_insert_with(|| {
                            Box::pin(tokio::time::sleep_until((*deadline).into()))
                        });
                        std::task::ready!(sleep.as_mut().poll(cx));
                        StatusCode::REQUEST_TIMEOUT.into_response()
                    }
                };
                let Some((seen, hsts)) = done.take() else {
                    return Poll::Pending;
                };
                let res = with_cors(res, allow_origin.take());
                Poll::Ready(Ok(finish(res, seen, hsts)))
            }
            Pass::Answered { res } => match res.take() {
                Some(res) => Poll::Ready(Ok(res)),
                None => Poll::Pending,
            },
            Pass::Boxed { fut } => fut.as_mut().poll(cx),
        }
    }
}

/// The `async` pass, for requests that need an OAuth lookup or run with the request span. Its
/// future is boxed, so it is kept small: every part is pinned once where it is made (a future
/// moved into another is otherwise stored twice), and the OAuth lookups are boxed where they
/// are awaited (`auth::layer`). `size_of` tests below hold it there.
async fn handle<S>(
    front: Front,
    inner: S,
    asking: Asking,
    seen: Seen,
    hsts: bool,
    span: Option<Span>,
) -> Result<Response, Infallible>
where
    S: Service<Request, Response = Response, Error = Infallible>,
{
    let mut work = pin!(serve(&front, inner, asking, seen.start));
    let res = match span {
        Some(span) => work.as_mut().instrument(span).await,
        None => work.await,
    };
    Ok(finish(res, seen, hsts))
}

/// Guard, authenticate, run the route within the timeout, add CORS headers.
/// A request for the `async` pass, the credential its route needs and where it came from.
struct Asking {
    req: Request,
    surface: Option<Surface>,
    peer: Option<SocketAddr>,
}

async fn serve<S>(front: &Front, mut inner: S, asking: Asking, start: Instant) -> Response
where
    S: Service<Request, Response = Response, Error = Infallible>,
{
    let Asking {
        mut req,
        surface,
        peer,
    } = asking;
    let config = &*front.config;
    let allow_origin = match config.policy.judge(&req) {
        Verdict::Answer(res) => return res,
        Verdict::Pass(allow_origin) => allow_origin,
    };
    let deadline = start + time_allowed(config.timeout, req.headers());
    let work = pin!(async move {
        if let Some(surface) = surface {
            match check(&config.auth, surface, Asked::of(&req, peer)).await {
                Ok(principal) => admit(&mut req, surface, principal),
                Err(rejection) => return rejection.into_response(),
            }
        }
        match inner.call(req).await {
            Ok(res) => res,
            Err(never) => match never {},
        }
    });
    let res = within(deadline, work)
        .await
        .unwrap_or_else(|| StatusCode::REQUEST_TIMEOUT.into_response());
    with_cors(res, allow_origin)
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

    /// The futures a request allocates stay small (the `async` pass was 8 KB with the OAuth
    /// lookups inline and futures stored twice, and cost more than a bare server's whole
    /// request; the usual pass is the route's future and a few fields).
    #[test]
    fn the_per_request_futures_stay_small() {
        let settings = crate::config::Settings::for_data_dir(std::env::temp_dir());
        let auth = Auth::new(&settings, None);
        let policy = OriginPolicy::new(&settings, auth.clone());
        let table = RouteTable::default();
        let front = Front::new(policy, auth.clone(), Duration::from_secs(1), false, table);
        let inner = tower::service_fn(|_: Request| async {
            Ok::<_, Infallible>(Response::new(axum::body::Body::empty()))
        });
        let req = Request::new(axum::body::Body::empty());
        let checked = check(&auth, Surface::Rest, Asked::of(&req, None));
        let check_size = std::mem::size_of_val(&checked);
        drop(checked);
        let seen = Seen::of(&req, "/");
        let surface = Some(Surface::Rest);
        let asking = Asking {
            req,
            surface,
            peer: None,
        };
        let handled = handle(front.clone(), inner, asking, seen, false, None);
        let handle_size = std::mem::size_of_val(&handled);
        drop(handled);
        let usual =
            std::mem::size_of::<FrontFuture<axum::routing::future::RouteFuture<Infallible>>>();
        assert!(check_size <= 512, "auth check future: {check_size} bytes");
        assert!(handle_size <= 2560, "async pass: {handle_size} bytes");
        assert!(usual <= 640, "usual pass: {usual} bytes");
    }

    /// A front layer with the shared token `tok`, a guarded `/api/x` and an open `/open`;
    /// `max_failures` wrong tokens from one address before 429.
    fn front_with_token(max_failures: u32) -> Front {
        let mut settings = crate::config::Settings::for_data_dir(std::env::temp_dir());
        settings.auth_token = Some(crate::config::Secret::new("tok"));
        settings.auth_max_failures = max_failures;
        let auth = Auth::new(&settings, None);
        let policy = OriginPolicy::new(&settings, auth.clone());
        let mut table = RouteTable::default();
        table.insert("/api/x", Some(Surface::Rest));
        table.insert("/open", None);
        Front::new(policy, auth, Duration::from_secs(1), false, table)
    }

    /// Both passes (the usual one and the `async` one with the span) answer alike: a guarded
    /// route with the right token, without it, and an open route, each with the request id and
    /// `nosniff`.
    #[tokio::test]
    async fn the_usual_and_the_async_pass_answer_alike() {
        use tower::ServiceExt as _;
        let front = front_with_token(20);
        let route = tower::service_fn(|req: Request| async move {
            let who = format!("{:?}", req.extensions().get::<Principal>());
            Ok::<_, Infallible>(Response::new(axum::body::Body::from(who)))
        });
        let ask = |path: &str, token: Option<&str>| {
            let svc = front.layer(route);
            let mut req = Request::builder().uri(path);
            if let Some(t) = token {
                req = req.header("authorization", format!("Bearer {t}"));
            }
            let req = req.body(axum::body::Body::empty()).unwrap();
            async move {
                let res = svc.oneshot(req).await.unwrap();
                let status = res.status();
                let id = res.headers().contains_key(REQUEST_ID);
                let nosniff = res.headers().contains_key("x-content-type-options");
                let body = axum::body::to_bytes(res.into_body(), 1 << 16)
                    .await
                    .unwrap();
                (
                    status,
                    id,
                    nosniff,
                    String::from_utf8_lossy(&body).into_owned(),
                )
            }
        };
        let cases = [
            ("/api/x", Some("tok")),
            ("/api/x", Some("wrong")),
            ("/api/x", None),
            ("/open", None),
        ];
        let mut usual = Vec::new();
        for (path, token) in cases {
            usual.push(ask(path, token).await);
        }
        // With a debug subscriber the span is enabled and every request takes the async pass.
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::DEBUG)
            .with_writer(std::io::sink)
            .finish();
        let _guard = tracing::subscriber::set_default(subscriber);
        for (i, (path, token)) in cases.into_iter().enumerate() {
            assert!(
                !Seen::of(&Request::new(axum::body::Body::empty()), "/")
                    .span()
                    .is_disabled()
            );
            assert_eq!(ask(path, token).await, usual[i], "case {i}");
        }
        assert_eq!(usual[0].0, StatusCode::OK);
        assert!(usual[0].3.contains("Owner"), "{:?}", usual[0]);
        assert_eq!(usual[1].0, StatusCode::UNAUTHORIZED);
        assert_eq!(usual[2].0, StatusCode::UNAUTHORIZED);
        assert_eq!(usual[3].0, StatusCode::OK);
        assert!(usual.iter().all(|(_, id, nosniff, _)| *id && *nosniff));
    }

    /// The connection's peer reaches the limiter (failures are counted per address) and, as
    /// axum's `ConnectInfo`, the public routes; not the guarded ones' requests.
    #[tokio::test]
    async fn the_peer_is_counted_by_the_limiter_and_given_to_public_routes() {
        use tower::ServiceExt as _;
        let front = front_with_token(2);
        let route = tower::service_fn(|req: Request| async move {
            let peer = req
                .extensions()
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0);
            Ok::<_, Infallible>(Response::new(axum::body::Body::from(format!("{peer:?}"))))
        });
        let from = |ip: &str| {
            let mut svc = front.layer(route);
            svc.set_peer(SocketAddr::new(ip.parse().unwrap(), 4000));
            svc
        };
        let ask = |svc: FrontService<_>, path: &str, token: &str| {
            let req = Request::builder()
                .uri(path)
                .header("authorization", format!("Bearer {token}"))
                .body(axum::body::Body::empty())
                .unwrap();
            async move {
                let res = svc.oneshot(req).await.unwrap();
                let status = res.status();
                let body = axum::body::to_bytes(res.into_body(), 1 << 16)
                    .await
                    .unwrap();
                (status, String::from_utf8_lossy(&body).into_owned())
            }
        };
        let open = ask(from("192.0.2.1"), "/open", "").await;
        assert_eq!(open.1, "Some(192.0.2.1:4000)");
        let guarded = ask(from("192.0.2.1"), "/api/x", "tok").await;
        assert_eq!(guarded, (StatusCode::OK, "None".to_owned()));
        for _ in 0..2 {
            let wrong = ask(from("192.0.2.1"), "/api/x", "wrong").await;
            assert_eq!(wrong.0, StatusCode::UNAUTHORIZED);
        }
        let limited = ask(from("192.0.2.1"), "/api/x", "tok").await;
        assert_eq!(limited.0, StatusCode::TOO_MANY_REQUESTS, "that address");
        let other = ask(from("198.51.100.7"), "/api/x", "tok").await;
        assert_eq!(other.0, StatusCode::OK, "another address");
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
