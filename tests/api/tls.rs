//! HTTPS and WSS with rustls on the same port, start-up errors for bad certificate files, and
//! certificate rotation without dropping open connections.

use rustls::pki_types::pem::PemObject;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use jean2::config::{Settings, TlsFiles};
use tokio::sync::mpsc;
use tokio_tungstenite::Connector;
use tokio_tungstenite::tungstenite::Message;

use crate::helpers::*;

struct Cert {
    cert_pem: String,
    key_pem: String,
}

fn self_signed() -> Cert {
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()])
        .expect("generate certificate");
    Cert {
        cert_pem: ck.cert.pem(),
        key_pem: ck.key_pair.serialize_pem(),
    }
}

fn write_cert(dir: &Path, c: &Cert) -> TlsFiles {
    let files = TlsFiles {
        cert: dir.join("cert.pem"),
        key: dir.join("key.pem"),
    };
    std::fs::write(&files.cert, &c.cert_pem).unwrap();
    std::fs::write(&files.key, &c.key_pem).unwrap();
    files
}

fn https_client(c: &Cert) -> reqwest::Client {
    reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(c.cert_pem.as_bytes()).unwrap())
        .https_only(true)
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

fn wss_connector(c: &Cert) -> Connector {
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls::pki_types::CertificateDer::pem_slice_iter(c.cert_pem.as_bytes()) {
        roots.add(cert.unwrap()).unwrap();
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    Connector::Rustls(Arc::new(config))
}

async fn wss(port: u16, c: &Cert) -> Result<WsClient, tokio_tungstenite::tungstenite::Error> {
    let url = format!("wss://localhost:{port}/ws?token={TOKEN}");
    let (stream, _) =
        tokio_tungstenite::connect_async_tls_with_config(url, None, false, Some(wss_connector(c)))
            .await?;
    Ok(WsClient { stream })
}

async fn wait_https(client: &reqwest::Client, port: u16) {
    let url = format!("https://localhost:{port}/api/health");
    wait_until("the https server answers", async || {
        client.get(&url).send().await.is_ok()
    })
    .await;
}

#[tokio::test]
async fn https_and_wss_are_served_on_the_same_port() {
    let cert = self_signed();
    let dir = tempfile::tempdir().unwrap();
    let files = write_cert(dir.path(), &cert);
    let app = spawn_app_with(|s| {
        s.tls = Some(files);
        s.auth_token = Some(jean2::config::Secret::new(TOKEN));
    })
    .await;
    let client = https_client(&cert);
    let port = app.addr.port();
    wait_https(&client, port).await;

    let res = client
        .get(format!("https://localhost:{port}/api/auth/verify"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let res = client
        .get(format!("https://localhost:{port}/api/auth/verify"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);

    let mut ws = wss(port, &cert).await.expect("wss connects");
    ws.register().await;

    // Plain HTTP on the TLS port does not get an answer in the clear.
    let plain = reqwest::Client::new()
        .get(format!("http://127.0.0.1:{port}/api/health"))
        .timeout(Duration::from_secs(5))
        .send()
        .await;
    assert!(
        plain.is_err() || !plain.unwrap().status().is_success(),
        "plain HTTP must not be served on the TLS port"
    );
}

#[tokio::test]
async fn missing_or_invalid_certificate_files_fail_start_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let garbage = dir.path().join("garbage.pem");
    std::fs::write(&garbage, "not a certificate").unwrap();
    let good = write_cert(dir.path(), &self_signed());
    let cases = [
        (
            "missing cert",
            TlsFiles {
                cert: dir.path().join("nope.pem"),
                key: good.key.clone(),
            },
            "nope.pem",
        ),
        (
            "missing key",
            TlsFiles {
                cert: good.cert.clone(),
                key: dir.path().join("nokey.pem"),
            },
            "nokey.pem",
        ),
        (
            "garbage cert",
            TlsFiles {
                cert: garbage.clone(),
                key: good.key.clone(),
            },
            "garbage.pem",
        ),
        (
            "garbage key",
            TlsFiles {
                cert: good.cert.clone(),
                key: garbage.clone(),
            },
            "garbage.pem",
        ),
    ];
    for (label, files, name) in cases {
        let mut settings = Settings::for_data_dir(dir.path().to_owned());
        settings.tls = Some(files);
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let err = jean2::server::run(settings, listener, std::future::pending())
            .await
            .expect_err(label);
        let msg = format!("{err:#}");
        assert!(msg.contains(name), "{label}: {msg}");
    }
}

#[tokio::test]
async fn reload_swaps_certificate_and_token_and_closes_sockets_of_the_old_token() {
    let dir = tempfile::tempdir().unwrap();
    let first = self_signed();
    let second = self_signed();
    let files = write_cert(dir.path(), &first);
    let mut settings = Settings::for_data_dir(dir.path().to_owned());
    settings.tls = Some(files.clone());
    settings.auth_token = Some(jean2::config::Secret::new(TOKEN));
    settings.database_url = crate::helpers::test_database().await;

    let (reload_tx, reload_rx) = mpsc::channel(1);
    let reloaded_settings = {
        let mut s = settings.clone();
        s.auth_token = Some(jean2::config::Secret::new("rotated-token"));
        s
    };
    let reloader = jean2::server::Reloader {
        signals: reload_rx,
        load: Box::new(move || Ok(reloaded_settings.clone())),
    };
    let app = spawn_serving(dir, settings, Some(reloader)).await;
    let port = app.addr.port();
    let old_client = https_client(&first);
    wait_https(&old_client, port).await;
    let mut open_ws = wss(port, &first)
        .await
        .expect("wss with the first certificate");
    open_ws.register().await;

    write_cert(app.data_dir.path(), &second);
    reload_tx.send(()).await.unwrap();

    // New connections see the new certificate and the new token.
    let new_client = https_client(&second);
    let verify = format!("https://localhost:{port}/api/auth/verify");
    wait_until(
        "the new certificate is served after reload",
        async || match new_client
            .get(&verify)
            .bearer_auth("rotated-token")
            .send()
            .await
        {
            Ok(res) => {
                assert_eq!(res.status(), 200, "the new token works");
                true
            }
            Err(_) => false,
        },
    )
    .await;
    let res = new_client
        .get(format!("https://localhost:{port}/api/auth/verify"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401, "the old token no longer works");
    assert!(
        wss(port, &first).await.is_err(),
        "the old certificate is gone"
    );

    // The WebSocket opened with the old token is closed: 1008, the token is no longer valid
    // (issue 12: revocation reaches what is open).
    match open_ws.next_message().await {
        Some(Message::Close(Some(frame))) => assert_eq!(u16::from(frame.code), 1008),
        other => panic!("expected a 1008 close, got {other:?}"),
    }

    app.stop().await;
}
