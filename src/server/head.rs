//! [`HeadAcceptor`]: a new connection (after its TLS handshake, when TLS is on) must show within
//! the header timeout that it speaks HTTP/1, or it is closed.
//!
//! The deadline covers the TLS handshake and the first bytes together (hyper's own
//! `header_read_timeout` starts only once hyper has the connection; it then bounds every
//! request head). The bytes read go on to hyper, so it parses them at once. (This began as the
//! fix for hyper-util's `auto` connection, which read up to 24 bytes to tell an HTTP/2 preface
//! from HTTP/1 with no timeout: a client that sent only `P` held a `JEAN2_MAX_CONNECTIONS` slot
//! forever. The server now runs hyper's HTTP/1 connection directly, `conns.rs`.)
//!
//! HTTP/2 prior knowledge is refused (the connection is closed): no Jean2 client needs it.
//! Browsers speak HTTP/2 only over TLS after ALPN, and our ALPN offers `http/1.1` alone; their
//! WebSocket upgrades are HTTP/1.1; only `curl --http2-prior-knowledge` would ask. Serving it
//! would need keep-alive pings, an idle timeout and a stream cap of its own for no user.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum_server::accept::Accept;
use futures_util::future::BoxFuture;
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, ReadBuf};

/// The most the sniff reads at once.
const FIRST_READ: usize = 4096;

/// What an HTTP/2 prior-knowledge connection starts with (RFC 9113 §3.4).
const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// Runs the inner acceptor (plain or TLS) and the protocol sniff under one deadline.
#[derive(Clone)]
pub struct HeadAcceptor<A> {
    inner: A,
    timeout: Duration,
}

impl<A> HeadAcceptor<A> {
    pub fn new(inner: A, timeout: Duration) -> Self {
        Self { inner, timeout }
    }
}

impl<A, I, S> Accept<I, S> for HeadAcceptor<A>
where
    A: Accept<I, S> + Clone + Send + Sync + 'static,
    A::Future: Send + 'static,
    A::Stream: AsyncRead + Unpin + Send + 'static,
    A::Service: Send + 'static,
    I: Send + 'static,
    S: Send + 'static,
{
    type Stream = Prefixed<A::Stream>;
    type Service = A::Service;
    type Future = BoxFuture<'static, io::Result<(Self::Stream, Self::Service)>>;

    fn accept(&self, stream: I, service: S) -> Self::Future {
        let inner = self.inner.clone();
        let timeout = self.timeout;
        Box::pin(async move {
            let sniff = async move {
                let (mut stream, service) = inner.accept(stream, service).await?;
                let seen = read_until_http1(&mut stream).await?;
                Ok((Prefixed::new(seen, stream), service))
            };
            tokio::time::timeout(timeout, sniff).await.map_err(|_| {
                io::Error::new(
                    io::ErrorKind::TimedOut,
                    "the client sent no HTTP/1 request in time",
                )
            })?
        })
    }
}

/// Read until the bytes can no longer be an HTTP/2 preface; return them. A complete preface
/// (or the end of the stream before anything told) is an error. Reads take what is there (up
/// to [`FIRST_READ`]), so a whole request head usually comes in the first read and hyper finds it
/// in memory: no extra system call per connection.
async fn read_until_http1<R: AsyncRead + Unpin>(stream: &mut R) -> io::Result<Vec<u8>> {
    let mut seen = Vec::with_capacity(FIRST_READ);
    loop {
        if stream.read_buf(&mut seen).await? == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the client closed before sending a request",
            ));
        }
        let k = seen.len().min(H2_PREFACE.len());
        if seen[..k] != H2_PREFACE[..k] {
            return Ok(seen);
        }
        if k == H2_PREFACE.len() {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "HTTP/2 prior knowledge is not served",
            ));
        }
    }
}

/// A stream that first yields the bytes the sniff read, then the stream itself.
pub struct Prefixed<T> {
    seen: Vec<u8>,
    pos: usize,
    inner: T,
}

impl<T> Prefixed<T> {
    fn new(seen: Vec<u8>, inner: T) -> Self {
        Self {
            seen,
            pos: 0,
            inner,
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Prefixed<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if this.pos < this.seen.len() {
            let rest = &this.seen[this.pos..];
            let n = rest.len().min(buf.remaining());
            buf.put_slice(&rest[..n]);
            this.pos += n;
            if this.pos == this.seen.len() {
                this.seen = Vec::new();
                this.pos = 0;
            }
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut this.inner).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Prefixed<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }
    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use axum_server::accept::DefaultAcceptor;
    use tokio::io::{AsyncWriteExt as _, duplex};

    use super::*;

    /// Accept the server end of a pipe after the client wrote `sent` (and, with `close`, hung up).
    async fn accept_after(
        sent: &[u8],
        close: bool,
        timeout: Duration,
    ) -> io::Result<Prefixed<tokio::io::DuplexStream>> {
        let (server, mut client) = duplex(1024);
        client.write_all(sent).await.unwrap();
        let _client = (!close).then_some(client);
        let acceptor = HeadAcceptor::new(DefaultAcceptor::new(), timeout);
        acceptor.accept(server, ()).await.map(|(s, ())| s)
    }

    #[tokio::test]
    async fn http1_bytes_are_handed_on_unchanged() {
        let mut stream = accept_after(b"GET / HTTP/1.1\r\n\r\n", false, Duration::from_secs(30))
            .await
            .expect("accepted");
        let mut all = vec![0u8; 18];
        stream.read_exact(&mut all).await.unwrap();
        assert_eq!(&all, b"GET / HTTP/1.1\r\n\r\n");
    }

    #[tokio::test]
    async fn a_prefix_of_the_http2_preface_times_out() {
        for sent in [&b""[..], b"P", b"PRI * HTTP/2.0\r\n"] {
            let err = accept_after(sent, false, Duration::from_millis(20))
                .await
                .err()
                .expect("refused");
            assert_eq!(err.kind(), io::ErrorKind::TimedOut, "{sent:?}");
        }
    }

    #[tokio::test]
    async fn http2_prior_knowledge_and_early_hang_ups_are_refused_at_once() {
        // The timeout only bounds a hung test: both are decided by the bytes.
        let err = accept_after(H2_PREFACE, false, Duration::from_secs(30))
            .await
            .err()
            .expect("refused");
        assert_eq!(err.kind(), io::ErrorKind::Unsupported);
        let err = accept_after(b"PR", true, Duration::from_secs(30))
            .await
            .err()
            .expect("refused");
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
    }

    #[tokio::test]
    async fn a_request_that_starts_like_the_preface_is_http1() {
        let mut stream = accept_after(b"PUT /x HTTP/1.1\r\n", false, Duration::from_secs(30))
            .await
            .expect("accepted");
        let mut all = vec![0u8; 17];
        stream.read_exact(&mut all).await.unwrap();
        assert_eq!(&all, b"PUT /x HTTP/1.1\r\n");
    }
}
