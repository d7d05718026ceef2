//! Items 1 and 2: a connection that never completes a request head is closed (plain and after
//! TLS), so a few bytes per socket cannot take every slot; and a server started with the usual
//! soft limit of 1024 open files raises it and still holds 1,500 connections.

use rustls::pki_types::pem::PemObject;
use std::io::{Read as _, Write as _};
use std::sync::Arc;
use std::time::Duration;

use jean2::config::TlsFiles;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

use crate::daemon::harness::Daemon;
use crate::helpers::{HUNG, TestApp, spawn_app_with, wait_until};

/// The header timeout of these servers: short, so the tests do not wait 15 s.
const HEADER_TIMEOUT: Duration = Duration::from_millis(300);

/// Read until the server closes the connection; panic if it is still open after [`HUNG`].
async fn assert_closed(stream: &mut TcpStream, label: &str) {
    let mut sink = Vec::new();
    let read = tokio::time::timeout(HUNG, stream.read_to_end(&mut sink)).await;
    assert!(read.is_ok(), "{label}: the connection is still open");
}

#[tokio::test]
async fn a_connection_that_never_completes_a_request_head_is_closed() {
    let app = spawn_app_with(|s| s.header_timeout = HEADER_TIMEOUT).await;
    let cases: [(&str, &[u8]); 5] = [
        ("nothing", b""),
        ("the first byte of the HTTP/2 preface", b"P"),
        ("half the HTTP/2 preface", b"PRI * HTTP/2.0\r\n"),
        (
            "the whole HTTP/2 preface (prior knowledge is not served)",
            b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
        ),
        (
            "half an HTTP/1 request head",
            b"GET /api/health HTTP/1.1\r\n",
        ),
    ];
    for (label, sent) in cases {
        let mut c = TcpStream::connect(app.addr).await.unwrap();
        c.write_all(sent).await.unwrap();
        assert_closed(&mut c, label).await;
    }
    assert_eq!(app.get("/api/health").await.status(), 200);
}

/// The header deadline is armed again for every request of a kept-alive connection (its sleeps
/// are reused, `server::timer`): after many answered requests, a half-sent head is still cut off.
#[tokio::test]
async fn a_kept_alive_connection_that_stalls_in_a_later_head_is_closed() {
    let app = spawn_app_with(|s| s.header_timeout = HEADER_TIMEOUT).await;
    let mut c = TcpStream::connect(app.addr).await.unwrap();
    let request = b"GET /api/health HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n";
    for i in 0..200 {
        c.write_all(request).await.unwrap();
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        // The answer is small and has a body: read until its JSON object closes.
        while !got.ends_with(b"}") {
            let n = tokio::time::timeout(HUNG, c.read(&mut buf))
                .await
                .unwrap_or_else(|_| panic!("request {i}: no answer"))
                .unwrap();
            assert!(n > 0, "request {i}: the connection closed");
            got.extend_from_slice(&buf[..n]);
        }
        assert!(got.starts_with(b"HTTP/1.1 200"), "request {i}");
    }
    c.write_all(b"GET /api/health HTTP/1.1\r\n").await.unwrap();
    assert_closed(&mut c, "a stalled head after 200 requests").await;
}

#[tokio::test]
async fn one_byte_per_socket_cannot_hold_every_connection_slot() {
    let app = spawn_app_with(|s| {
        s.max_connections = 16;
        s.header_timeout = HEADER_TIMEOUT;
    })
    .await;
    let mut held = Vec::new();
    for _ in 0..16 {
        let mut c = TcpStream::connect(app.addr).await.unwrap();
        c.write_all(b"P").await.unwrap();
        held.push(c);
    }
    let probe = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    wait_until("the health check answers again", async || {
        let res = probe.get(app.url("/api/health")).send().await;
        res.is_ok_and(|r| r.status() == 200)
    })
    .await;
    for (i, c) in held.iter_mut().enumerate() {
        assert_closed(c, &format!("socket {i}")).await;
    }
}

/// A self-signed certificate for 127.0.0.1, written into `dir`.
fn tls_files(dir: &std::path::Path) -> (TlsFiles, String) {
    let ck = rcgen::generate_simple_self_signed(vec!["127.0.0.1".into()]).unwrap();
    let files = TlsFiles {
        cert: dir.join("cert.pem"),
        key: dir.join("key.pem"),
    };
    std::fs::write(&files.cert, ck.cert.pem()).unwrap();
    std::fs::write(&files.key, ck.key_pair.serialize_pem()).unwrap();
    (files, ck.cert.pem())
}

/// Finish a TLS handshake with `app`, send `sent` inside it, and say how the read ended.
fn tls_send_and_read(app: &TestApp, cert_pem: &str, sent: &'static [u8]) -> std::io::Result<usize> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls::pki_types::CertificateDer::pem_slice_iter(cert_pem.as_bytes()) {
        roots.add(cert.unwrap()).unwrap();
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let name = rustls::pki_types::ServerName::try_from("127.0.0.1").unwrap();
    let mut conn = rustls::ClientConnection::new(Arc::new(config), name).unwrap();
    let mut sock = std::net::TcpStream::connect(app.addr).unwrap();
    sock.set_read_timeout(Some(HUNG)).unwrap();
    let mut tls = rustls::Stream::new(&mut conn, &mut sock);
    tls.write_all(sent)?;
    tls.flush()?;
    let mut buf = [0u8; 256];
    tls.read(&mut buf)
}

#[tokio::test]
async fn after_tls_a_connection_that_sends_one_byte_is_closed_too() {
    let certs = tempfile::tempdir().unwrap();
    let (files, cert_pem) = tls_files(certs.path());
    let app = spawn_app_with(|s| {
        s.tls = Some(files);
        s.header_timeout = HEADER_TIMEOUT;
    })
    .await;
    let app = Arc::new(app);
    for sent in [&b"P"[..], b"PRI * HTTP/2.0\r\n"] {
        let app = app.clone();
        let pem = cert_pem.clone();
        let read = tokio::task::spawn_blocking(move || tls_send_and_read(&app, &pem, sent))
            .await
            .unwrap();
        let timed_out = read.as_ref().is_err_and(|e| {
            matches!(
                e.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            )
        });
        assert!(!timed_out, "{sent:?}: still open after {HUNG:?}");
        assert!(
            matches!(read, Ok(0) | Err(_)),
            "{sent:?}: closed unanswered: {read:?}"
        );
    }
}

/// `(soft, hard)` "Max open files" of a process, from `/proc/<pid>/limits`.
fn open_files_limit(pid: u32) -> (u64, u64) {
    let text = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
    let line = text
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .unwrap();
    let mut figures = line["Max open files".len()..]
        .split_whitespace()
        .map(|f| f.parse::<u64>().unwrap_or(u64::MAX));
    (figures.next().unwrap(), figures.next().unwrap())
}

#[tokio::test]
async fn started_with_a_soft_limit_of_1024_the_server_raises_it_and_holds_1500_connections() {
    const CONNECTIONS: usize = 1500;
    // This test's own end of the connections needs the room too.
    jean2::server::fds::raise();
    let d = Daemon::new();
    let started = std::process::Command::new("sh")
        .args(["-c", "ulimit -S -n 1024 && exec \"$0\" \"$@\""])
        .arg(env!("CARGO_BIN_EXE_jean2"))
        .args(["start", "-p", "0"])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", d.path(""))
        .env("JEAN2_DATA_DIR", d.path(""))
        .envs(d.env())
        .output()
        .unwrap();
    assert!(started.status.success(), "{started:?}");
    let (soft, hard) = open_files_limit(d.pid());
    assert!(soft > 1024 && soft == hard.min(1 << 20), "{soft} of {hard}");
    // The log is written by a thread of its own every few milliseconds: wait for the line.
    let raised = format!("open-files limit raised from 1024 to {soft}");
    wait_until("the figure is logged", async || d.log().contains(&raised)).await;

    let addr = d.url().trim_start_matches("http://").to_owned();
    let mut held = Vec::with_capacity(CONNECTIONS);
    for _ in 0..CONNECTIONS {
        held.push(TcpStream::connect(&addr).await.unwrap());
    }
    let request = format!("GET /api/health HTTP/1.1\r\nHost: {addr}\r\n\r\n");
    for c in &mut held {
        c.write_all(request.as_bytes()).await.unwrap();
    }
    // Every connection is answered while all of them are open (the cap, 10,000 by default, is
    // below the raised limit); before, those past ~1,000 waited in the backlog unanswered.
    for (i, c) in held.iter_mut().enumerate() {
        let mut head = [0u8; 12];
        let read = tokio::time::timeout(HUNG, c.read_exact(&mut head)).await;
        let read = read.unwrap_or_else(|_| panic!("connection {i} was not answered"));
        assert!(read.is_ok(), "connection {i}: {read:?}");
        assert_eq!(&head, b"HTTP/1.1 200", "connection {i}");
    }
}

/// The front layer leaves axum's body limit in place: it must stay our 2 MiB. One byte over is
/// refused before anything is stored; a body of exactly the limit is read (and judged as JSON).
#[tokio::test]
async fn a_request_body_over_2_mib_is_refused_with_413_and_nothing_is_stored() {
    let app = crate::helpers::spawn_app().await;
    let limit = jean2::router::MAX_BODY_BYTES;
    assert_eq!(limit, 2 * 1024 * 1024);
    let body_of = |total: usize| {
        let pad = total - r#"{"name":"","path":"/tmp"}"#.len();
        format!(r#"{{"name":"{}","path":"/tmp"}}"#, "n".repeat(pad))
    };
    let post = |body: String| {
        app.client
            .post(app.url("/api/workspaces"))
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    let count = async || {
        let (_, list) = app
            .call(reqwest::Method::GET, "/api/workspaces", None)
            .await;
        list["workspaces"].as_array().map_or(0, Vec::len)
    };
    let before = count().await;
    let over = post(body_of(limit + 1)).await.unwrap();
    assert_eq!(over.status(), 413);
    assert_eq!(count().await, before, "the refused body was stored");
    let at = post(body_of(limit)).await.unwrap();
    assert_ne!(at.status(), 413, "a body of exactly the limit is read");
}
