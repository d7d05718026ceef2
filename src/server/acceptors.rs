//! The chain every accepted TCP connection goes through, plain and TLS: the connection cap
//! ([`LimitAcceptor`]), `TCP_NODELAY`, the TLS handshake when on, and the request-head sniff
//! ([`HeadAcceptor`]).
//!
//! `TCP_NODELAY` because the server writes small frames (one WebSocket event, one SSE-sized
//! chunk) that must leave at once: with Nagle's algorithm a frame written while the previous
//! one is unacknowledged waits for the client's delayed ACK (docs/benchmarks.md, "Tools": 17 ms
//! per event with it, 2 ms without).

use std::time::Duration;

use axum_server::accept::NoDelayAcceptor;
use axum_server::tls_rustls::{RustlsAcceptor, RustlsConfig};

use super::head::HeadAcceptor;
use super::limit::LimitAcceptor;

/// Plain TCP: at most `max` connections, each to send a request head within `timeout`.
pub fn plain(max: usize, timeout: Duration) -> LimitAcceptor<HeadAcceptor<NoDelayAcceptor>> {
    LimitAcceptor::new(HeadAcceptor::new(NoDelayAcceptor::new(), timeout), max)
}

/// TLS: the same, with the handshake also bounded by `timeout`.
pub fn tls(
    config: RustlsConfig,
    max: usize,
    timeout: Duration,
) -> LimitAcceptor<HeadAcceptor<RustlsAcceptor<NoDelayAcceptor>>> {
    // The timeout is set on the default acceptor's type; `acceptor` keeps it.
    let tls = RustlsAcceptor::new(config)
        .handshake_timeout(timeout)
        .acceptor(NoDelayAcceptor::new());
    LimitAcceptor::new(HeadAcceptor::new(tls, timeout), max)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use axum_server::accept::Accept;
    use tokio::io::AsyncWriteExt;
    use tokio::net::{TcpListener, TcpStream};

    use super::*;

    const TIMEOUT: Duration = Duration::from_secs(30);

    /// An accepted server-side socket, and a second handle on the same socket (socket options
    /// are the socket's, so the handle sees what the acceptor set), and the client.
    async fn accepted() -> (TcpStream, std::net::TcpStream, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (server, _) = listener.accept().await.unwrap();
        let server = server.into_std().unwrap();
        let same = server.try_clone().unwrap();
        let server = TcpStream::from_std(server).unwrap();
        assert!(!same.nodelay().unwrap(), "Nagle is on by default");
        (server, same, client)
    }

    #[tokio::test]
    async fn plain_connections_get_tcp_nodelay() {
        let (server, same, mut client) = accepted().await;
        client.write_all(b"GET / HTTP/1.1\r\n").await.unwrap();
        plain(1, TIMEOUT).accept(server, ()).await.unwrap();
        assert!(same.nodelay().unwrap());
    }

    #[tokio::test]
    async fn tls_connections_get_tcp_nodelay_before_the_handshake() {
        let ck = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
        let key = rustls::pki_types::PrivateKeyDer::try_from(ck.key_pair.serialize_der()).unwrap();
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![ck.cert.der().clone()], key)
        .unwrap();
        let (server, same, mut client) = accepted().await;
        // Not a TLS client: the handshake fails, after the option was set.
        client.write_all(b"GET / HTTP/1.1\r\n\r\n").await.unwrap();
        let config = RustlsConfig::from_config(Arc::new(config));
        assert!(tls(config, 1, TIMEOUT).accept(server, ()).await.is_err());
        assert!(same.nodelay().unwrap());
    }
}
