//! What one TCP connection may cost. [`LimitAcceptor`] caps open connections
//! (`JEAN2_MAX_CONNECTIONS`): beyond it, new connections are closed at once instead of exhausting
//! file descriptors and memory; the permit lives as long as the connection's stream, upgraded
//! WebSockets included. A connection over the cap is closed at once, never left in the backlog
//! (the cap is kept below the open-files limit, see [`super::fds`]).

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};

use axum_server::accept::Accept;
use futures_util::future::BoxFuture;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
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

#[cfg(test)]
mod tests {
    use axum_server::accept::DefaultAcceptor;
    use tokio::io::{AsyncReadExt, AsyncWriteExt, duplex};

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
}
