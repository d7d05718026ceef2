//! The accept loop: every accepted TCP connection goes through the acceptor chain
//! ([`super::acceptors`]) and is then served by hyper's HTTP/1 connection with upgrades, the
//! app called directly; [`Stopper`] ends it all gracefully.
//!
//! Our own loop rather than axum-server's, for what a request costs: there, every wake-up of
//! every connection polled two shutdown notifications, each taking the one mutex all
//! connections share (worker threads fought over it on every request), and the router was
//! cloned, and its future boxed once more, for every request. Here a connection checks one
//! flag and its own waker slot, and holds its own app (a few `Arc`s) for all its requests.
//!
//! Shutdown ([`Stopper::stop`]): the listener closes; each connection finishes the request it
//! is on and closes (hyper's graceful shutdown; an idle keep-alive connection closes at once);
//! whatever is still open after the grace period is dropped. WebSockets have left hyper once
//! upgraded: the app closes those itself.

use std::cell::RefCell;
use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::{Pin, pin};
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use axum::response::Response;
use axum_server::accept::Accept;
use futures_util::task::AtomicWaker;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use pin_project_lite::pin_project;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tower::Service;

const SERVING: u8 = 0;
/// Finish the request in flight, then close.
const CLOSING: u8 = 1;
/// Close now.
const CLOSED: u8 = 2;

/// How long closed connections get to go once the grace period is over.
const CLOSE_WAIT: Duration = Duration::from_secs(1);

/// Ends [`serve`]: cheap to clone.
#[derive(Clone, Default)]
pub struct Stopper {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    state: AtomicU8,
    /// The accept loop waits on this.
    stop: CancellationToken,
    /// How long open connections get once stopping.
    grace: Mutex<Duration>,
    next_id: AtomicU64,
    /// Each open connection's waker slot, to tell it the state changed.
    open: Mutex<HashMap<u64, Arc<AtomicWaker>>>,
    /// Notified when the last connection closes while stopping.
    drained: Notify,
}

impl Stopper {
    pub fn new() -> Self {
        Self::default()
    }

    /// Stop accepting; open connections get `grace` to finish their request.
    pub fn stop(&self, grace: Duration) {
        *lock(&self.inner.grace) = grace;
        self.set(CLOSING);
        self.inner.stop.cancel();
    }

    fn set(&self, state: u8) {
        self.inner.state.store(state, Ordering::SeqCst);
        for waker in lock(&self.inner.open).values() {
            waker.wake();
        }
    }

    /// Count a new connection in; it is counted out when the returned guard drops.
    fn register(&self) -> Registration {
        let id = self.inner.next_id.fetch_add(1, Ordering::Relaxed);
        let waker = Arc::new(AtomicWaker::new());
        lock(&self.inner.open).insert(id, waker.clone());
        Registration {
            stopper: self.clone(),
            id,
            waker,
        }
    }

    /// Once no connection is open.
    async fn drained(&self) {
        loop {
            let mut notified = pin!(self.inner.drained.notified());
            notified.as_mut().enable();
            if lock(&self.inner.open).is_empty() {
                return;
            }
            notified.await;
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// One open connection, in the registry while it lives.
struct Registration {
    stopper: Stopper,
    id: u64,
    waker: Arc<AtomicWaker>,
}

impl Drop for Registration {
    fn drop(&mut self) {
        let inner = &self.stopper.inner;
        let mut open = lock(&inner.open);
        open.remove(&self.id);
        if open.is_empty() && inner.state.load(Ordering::SeqCst) != SERVING {
            inner.drained.notify_waiters();
        }
    }
}

/// Serve `app` on `listener` through `acceptor` until `stopper` stops it and the open
/// connections have finished (or the grace period is over).
pub async fn serve<A, S>(
    listener: TcpListener,
    acceptor: A,
    app: S,
    http: http1::Builder,
    stopper: Stopper,
) -> io::Result<()>
where
    A: Accept<TcpStream, ()> + Clone + Send + Sync + 'static,
    A::Stream: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    A::Future: Send + 'static,
    S: Service<Request, Response = Response, Error = Infallible> + ForPeer + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    let http = Arc::new(http);
    loop {
        let (tcp, peer) = tokio::select! {
            biased;
            () = stopper.inner.stop.cancelled() => break,
            accepted = accept(&listener) => accepted,
        };
        let registration = stopper.register();
        let acceptor = acceptor.clone();
        let mut app = app.clone();
        app.set_peer(peer);
        let http = http.clone();
        tokio::spawn(async move {
            // The handshake and the first bytes are bounded by the acceptors' own deadline.
            let Ok((stream, _)) = acceptor.accept(tcp, ()).await else {
                return;
            };
            let service = ConnService {
                app: RefCell::new(app),
            };
            let conn = http
                .serve_connection(TokioIo::new(stream), service)
                .with_upgrades();
            // Errors are the client's (a reset, a malformed or timed-out head): hyper has
            // answered what could be answered; nothing to log per connection.
            let _ = Watched {
                conn,
                registration: &registration,
                told: false,
            }
            .await;
        });
    }
    // New connections are refused from here on, not left in the backlog.
    drop(listener);
    let grace = *lock(&stopper.inner.grace);
    if tokio::time::timeout(grace, stopper.drained())
        .await
        .is_err()
    {
        stopper.set(CLOSED);
        // Served connections end at their next poll; one still in its TLS handshake or first
        // bytes ends at the acceptors' own deadline, which is not waited for.
        let _ = tokio::time::timeout(CLOSE_WAIT, stopper.drained()).await;
    }
    Ok(())
}

/// The next connection; an error (out of file descriptors, a connection reset before it was
/// accepted) is waited out rather than ending the server.
async fn accept(listener: &TcpListener) -> (TcpStream, SocketAddr) {
    loop {
        match listener.accept().await {
            Ok(accepted) => return accepted,
            Err(e) => {
                tracing::debug!(error = %e, "accept failed; retrying");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

/// The app a connection is served by, told the client's address once for the connection.
pub trait ForPeer {
    fn set_peer(&mut self, peer: SocketAddr);
}

impl<S> ForPeer for crate::layers::front::FrontService<S> {
    fn set_peer(&mut self, peer: SocketAddr) {
        crate::layers::front::FrontService::set_peer(self, peer);
    }
}

/// The app as hyper's service for one connection: the app (the router behind the front layer:
/// a few `Arc`s, and the client's address) is this connection's own, called by reference.
/// hyper calls it from the connection's task only, one call at a time.
struct ConnService<S> {
    app: RefCell<S>,
}

impl<S> hyper::service::Service<hyper::Request<Incoming>> for ConnService<S>
where
    S: Service<Request, Response = Response, Error = Infallible>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = S::Future;

    fn call(&self, req: hyper::Request<Incoming>) -> Self::Future {
        let req = req.map(Body::new);
        // Always ready (axum's router is; the front layer passes that on); no borrow outlives
        // this call.
        self.app.borrow_mut().call(req)
    }
}

pin_project! {
    /// A connection that learns of shutdown: told to finish gracefully once stopping, dropped
    /// when closed. Checking costs one load of the shared state and an update of this
    /// connection's own waker slot.
    struct Watched<'a, C> {
        #[pin]
        conn: C,
        registration: &'a Registration,
        told: bool,
    }
}

/// What [`Watched`] needs of hyper's connection.
trait Graceful: Future {
    fn graceful(self: Pin<&mut Self>);
}

impl<I, S, B> Graceful for http1::UpgradeableConnection<I, S>
where
    Self: Future,
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
    S: hyper::service::HttpService<Incoming, ResBody = B>,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    B: hyper::body::Body + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    fn graceful(self: Pin<&mut Self>) {
        self.graceful_shutdown();
    }
}

impl<C: Graceful> Future for Watched<'_, C> {
    type Output = Option<C::Output>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        let inner = &this.registration.stopper.inner;
        this.registration.waker.register(cx.waker());
        match inner.state.load(Ordering::SeqCst) {
            SERVING => {}
            CLOSED => return Poll::Ready(None),
            _ => {
                if !*this.told {
                    *this.told = true;
                    this.conn.as_mut().graceful();
                }
            }
        }
        this.conn.poll(cx).map(Some)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    use tokio::sync::mpsc;

    use super::*;

    /// These routes do not ask who is calling.
    impl ForPeer for axum::Router {
        fn set_peer(&mut self, _: SocketAddr) {}
    }

    /// `/` answers at once; `/held` says it has started and answers once released.
    struct Gate {
        started: mpsc::UnboundedSender<()>,
        release: Notify,
    }

    async fn held(axum::extract::State(gate): axum::extract::State<Arc<Gate>>) -> &'static str {
        let _ = gate.started.send(());
        gate.release.notified().await;
        "done"
    }

    async fn start(
        stopper: Stopper,
    ) -> (
        SocketAddr,
        Arc<Gate>,
        mpsc::UnboundedReceiver<()>,
        tokio::task::JoinHandle<io::Result<()>>,
    ) {
        let (started, started_rx) = mpsc::unbounded_channel();
        let gate = Arc::new(Gate {
            started,
            release: Notify::new(),
        });
        let router = axum::Router::new()
            .route("/", axum::routing::get(|| async { "hi" }))
            .route("/held", axum::routing::get(held))
            .with_state(gate.clone());
        let acceptor = axum_server::accept::DefaultAcceptor::new();
        let (addr, task) = spawn_serve(acceptor, router, stopper).await;
        (addr, gate, started_rx, task)
    }

    /// [`serve`] on a fresh port, in a task.
    async fn spawn_serve<A>(
        acceptor: A,
        app: axum::Router,
        stopper: Stopper,
    ) -> (SocketAddr, tokio::task::JoinHandle<io::Result<()>>)
    where
        A: Accept<TcpStream, ()> + Clone + Send + Sync + 'static,
        A::Stream: AsyncRead + AsyncWrite + Unpin + Send + 'static,
        A::Future: Send + 'static,
    {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let http = http1::Builder::new();
        let task = tokio::spawn(serve(listener, acceptor, app, http, stopper));
        (addr, task)
    }

    async fn send(stream: &mut TcpStream, path: &str) {
        let req = format!("GET {path} HTTP/1.1\r\nhost: x\r\n\r\n");
        stream.write_all(req.as_bytes()).await.unwrap();
    }

    async fn read_all(stream: &mut TcpStream) -> String {
        let mut out = Vec::new();
        let _ = stream.read_to_end(&mut out).await;
        String::from_utf8_lossy(&out).into_owned()
    }

    #[tokio::test]
    async fn stopping_finishes_the_request_in_flight_and_closes_idle_connections() {
        let stopper = Stopper::new();
        let (addr, gate, mut started, task) = start(stopper.clone()).await;
        let mut idle = TcpStream::connect(addr).await.unwrap();
        send(&mut idle, "/").await;
        let mut first = [0u8; 12];
        idle.read_exact(&mut first).await.unwrap();
        assert_eq!(&first, b"HTTP/1.1 200");
        let mut busy = TcpStream::connect(addr).await.unwrap();
        send(&mut busy, "/held").await;
        started.recv().await.unwrap();
        stopper.stop(Duration::from_secs(30));
        // The idle keep-alive connection is closed without another answer.
        let rest = read_all(&mut idle).await;
        assert!(!rest.contains("HTTP/1.1"), "{rest}");
        gate.release.notify_one();
        let answer = read_all(&mut busy).await;
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        assert!(answer.ends_with("done"), "{answer}");
        task.await.unwrap().unwrap();
        assert!(
            TcpStream::connect(addr).await.is_err(),
            "the listener is closed"
        );
    }

    /// A connection still in its acceptor (here: sending nothing to a head sniff with an hour's
    /// deadline) does not hold up the end of the server past the grace period.
    #[tokio::test]
    async fn a_connection_still_being_accepted_does_not_hold_up_the_stop() {
        let stopper = Stopper::new();
        let acceptor = super::super::head::HeadAcceptor::new(
            axum_server::accept::DefaultAcceptor::new(),
            Duration::from_secs(3600),
        );
        let app = axum::Router::new().route("/", axum::routing::get(|| async { "hi" }));
        let (addr, task) = spawn_serve(acceptor, app, stopper.clone()).await;
        let _silent = TcpStream::connect(addr).await.unwrap();
        // Registered once the server has accepted it.
        while lock(&stopper.inner.open).is_empty() {
            tokio::task::yield_now().await;
        }
        stopper.stop(Duration::from_millis(20));
        // The bound only keeps a broken stop from hanging the suite.
        let ended = tokio::time::timeout(Duration::from_secs(60), task).await;
        ended.expect("the server ended").unwrap().unwrap();
    }

    #[tokio::test]
    async fn what_outlasts_the_grace_period_is_dropped() {
        let stopper = Stopper::new();
        let (addr, _gate, mut started, task) = start(stopper.clone()).await;
        let mut busy = TcpStream::connect(addr).await.unwrap();
        send(&mut busy, "/held").await;
        started.recv().await.unwrap();
        stopper.stop(Duration::from_millis(20));
        task.await.unwrap().unwrap();
        let rest = read_all(&mut busy).await;
        assert_eq!(rest, "", "closed without an answer");
    }
}
