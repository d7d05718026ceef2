//! What one TCP connection may cost. [`LimitAcceptor`] caps open connections
//! (`JEAN2_MAX_CONNECTIONS`): beyond it, new connections are closed at once instead of exhausting
//! file descriptors and memory; the permit lives as long as the connection's stream, upgraded
//! WebSockets included. [`FirstByteAcceptor`] closes a connection that sends nothing at all
//! (hyper's protocol sniffing would otherwise wait for a first byte forever).

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};

use axum_server::accept::Accept;
use futures_util::future::BoxFuture;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

#[derive(Clone)]
pub struct LimitAcceptor<A> {
    inner: A,
    permits: Arc<Semaphore>,
    refused: Arc<AtomicU64>,
}

impl<A> LimitAcceptor<A> {
    pub fn new(inner: A, max: usize) -> Self {
        Self {
            inner,
            permits: Arc::new(Semaphore::new(max)),
            refused: Arc::new(AtomicU64::new(0)),
        }
    }
}

impl<A, I, S> Accept<I, S> for LimitAcceptor<A>
where
    A: Accept<I, S> + Clone + Send + Sync + 'static,
    A::Future: Send + 'static,
    I: Send + 'static,
    S: Send + 'static,
{
    type Stream = Limited<A::Stream>;
    type Service = A::Service;
    type Future = BoxFuture<'static, io::Result<(Self::Stream, Self::Service)>>;

    fn accept(&self, stream: I, service: S) -> Self::Future {
        let permit = self.permits.clone().try_acquire_owned();
        let inner = self.inner.clone();
        let refused = self.refused.clone();
        Box::pin(async move {
            let Ok(permit) = permit else {
                // Log the first refusal and then every 1000th, so a flood cannot flood the log.
                let n = refused.fetch_add(1, Ordering::Relaxed);
                if n.is_multiple_of(1000) {
                    tracing::warn!(
                        refused = n + 1,
                        "connection limit reached (JEAN2_MAX_CONNECTIONS); closing new connections"
                    );
                }
                return Err(io::Error::other("connection limit reached"));
            };
            let (stream, service) = inner.accept(stream, service).await?;
            Ok((
                Limited {
                    inner: stream,
                    _permit: permit,
                },
                service,
            ))
        })
    }
}

/// A stream that holds a connection permit.
pub struct Limited<T> {
    inner: T,
    _permit: OwnedSemaphorePermit,
}

impl<T: AsyncRead + Unpin> AsyncRead for Limited<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Limited<T> {
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

/// Waits (at most `timeout`) for a new connection's first byte before handing it on.
#[derive(Clone)]
pub struct FirstByteAcceptor<A> {
    inner: A,
    timeout: Duration,
}

impl<A> FirstByteAcceptor<A> {
    pub fn new(inner: A, timeout: Duration) -> Self {
        Self { inner, timeout }
    }
}

impl<A, S> Accept<TcpStream, S> for FirstByteAcceptor<A>
where
    A: Accept<TcpStream, S> + Clone + Send + Sync + 'static,
    A::Future: Send + 'static,
    S: Send + 'static,
{
    type Stream = A::Stream;
    type Service = A::Service;
    type Future = BoxFuture<'static, io::Result<(Self::Stream, Self::Service)>>;

    fn accept(&self, stream: TcpStream, service: S) -> Self::Future {
        let inner = self.inner.clone();
        let timeout = self.timeout;
        Box::pin(async move {
            let mut first = [0u8; 1];
            match tokio::time::timeout(timeout, stream.peek(&mut first)).await {
                Ok(Ok(_)) => inner.accept(stream, service).await,
                Ok(Err(e)) => Err(e),
                Err(_) => Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "client sent nothing",
                )),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use axum_server::accept::DefaultAcceptor;
    use tokio::io::{AsyncReadExt, AsyncWriteExt, duplex};
    use tokio::net::{TcpListener, TcpStream};

    use super::*;

    #[tokio::test]
    async fn connections_over_the_cap_are_refused_until_one_closes() {
        let acceptor = LimitAcceptor::new(DefaultAcceptor::new(), 2);
        // The server clones the acceptor for every connection: clones share the cap.
        let accept = |a: &LimitAcceptor<DefaultAcceptor>| a.clone().accept(duplex(8).0, ());
        let first = accept(&acceptor).await.expect("first");
        let _second = accept(&acceptor).await.expect("second");
        let refused = accept(&acceptor).await.err().expect("third is refused");
        assert_eq!(refused.to_string(), "connection limit reached");
        assert!(accept(&acceptor).await.is_err(), "and the next");
        assert_eq!(acceptor.refused.load(Ordering::Relaxed), 2);

        drop(first);
        let _third = accept(&acceptor)
            .await
            .expect("the freed slot is used again");
        assert!(accept(&acceptor).await.is_err(), "full again");
    }

    #[tokio::test]
    async fn a_limited_stream_passes_reads_writes_and_shutdown_through() {
        let acceptor = LimitAcceptor::new(DefaultAcceptor::new(), 1);
        let (server, mut client) = duplex(64);
        let (mut limited, ()) = acceptor.accept(server, ()).await.unwrap();
        client.write_all(b"ping").await.unwrap();
        let mut buf = [0u8; 4];
        limited.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"ping");
        limited.write_all(b"pong").await.unwrap();
        limited.flush().await.unwrap();
        client.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"pong");
        limited.shutdown().await.unwrap();
        assert_eq!(
            client.read(&mut buf).await.unwrap(),
            0,
            "the peer sees the end"
        );
    }

    /// A connected pair over loopback: (the server's end, the client's end).
    async fn tcp_pair() -> (TcpStream, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (server, _) = listener.accept().await.unwrap();
        (server, client)
    }

    #[tokio::test]
    async fn a_connection_that_sends_nothing_is_dropped_after_the_timeout() {
        let (server, _client) = tcp_pair().await;
        let acceptor = FirstByteAcceptor::new(DefaultAcceptor::new(), Duration::from_millis(20));
        let err = acceptor.accept(server, ()).await.expect_err("refused");
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
    }

    #[tokio::test]
    async fn the_first_byte_is_left_for_the_protocol() {
        let (server, mut client) = tcp_pair().await;
        client.write_all(b"GET / HTTP/1.1\r\n").await.unwrap();
        // The timeout only bounds a hung test: the byte is already there.
        let acceptor = FirstByteAcceptor::new(DefaultAcceptor::new(), Duration::from_secs(30));
        let (mut stream, ()) = acceptor.accept(server, ()).await.expect("accepted");
        let mut buf = [0u8; 3];
        stream.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"GET", "peeked, not consumed");
    }
}
