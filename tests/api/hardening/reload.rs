//! Item 8: `jean2 reload` (the real binary) checks the whole `.env` as `start` does and applies
//! nothing when a value is bad; and it never turns authentication off while the server listens
//! on a public address, judged by the address actually bound.

use crate::daemon::harness::{Daemon, status_of};

const OLD: &str = "the-old-token-0123456789";
const NEW: &str = "the-new-token-9876543210";

#[tokio::test]
async fn a_bad_value_anywhere_in_env_fails_the_reload_and_nothing_is_applied() {
    let d = Daemon::new();
    d.write_env(&format!("JEAN2_AUTH_TOKEN={OLD}\n"));
    d.ok(&["start", "-p", "0"]);
    let verify = format!("{}/api/auth/verify", d.url());

    d.write_env(&format!("JEAN2_AUTH_TOKEN={NEW}\nJEAN2_PORT=eighty\n"));
    let reload = d.run(&["reload"]);
    assert_ne!(reload.code, Some(0), "{reload:?}");
    assert!(
        reload.all().contains("JEAN2_PORT"),
        "names the variable: {reload:?}"
    );
    assert_eq!(
        status_of(verify.clone(), Some(OLD)).await,
        200,
        "old token kept"
    );
    assert_eq!(
        status_of(verify, Some(NEW)).await,
        401,
        "new token not applied"
    );
}

#[tokio::test]
async fn reload_never_turns_auth_off_while_bound_to_a_public_address() {
    let d = Daemon::new();
    d.write_env(&format!("JEAN2_AUTH_TOKEN={OLD}\nJEAN2_HOST=0.0.0.0\n"));
    d.ok(&["start", "-p", "0"]);
    let verify = format!("{}/api/auth/verify", d.url());

    // The .env now claims loopback and has no token; the listener is still on 0.0.0.0.
    d.write_env("JEAN2_HOST=127.0.0.1\n");
    let reload = d.run(&["reload"]);
    assert_ne!(reload.code, Some(0), "{reload:?}");
    assert!(reload.all().contains("reload failed"), "{reload:?}");
    assert!(
        !reload.all().contains("only this machine can connect"),
        "{reload:?}"
    );
    assert_eq!(
        status_of(verify.clone(), None).await,
        401,
        "auth is still on"
    );
    assert_eq!(status_of(verify, Some(OLD)).await, 200);
}

#[tokio::test]
async fn a_server_without_auth_refuses_to_serve_on_a_public_listener_whatever_its_host_says() {
    let dir = tempfile::tempdir().unwrap();
    // The settings say loopback; the listener it is handed is on every address.
    let settings = jean2::config::Settings::for_data_dir(dir.path().to_owned());
    assert_eq!(settings.host, "127.0.0.1");
    let listener = std::net::TcpListener::bind("0.0.0.0:0").unwrap();
    let err = jean2::server::run(settings, listener, std::future::pending())
        .await
        .expect_err("refused");
    assert!(
        err.to_string().contains("without authentication"),
        "{err:#}"
    );
}
