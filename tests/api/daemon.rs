//! The real `jean2` binary as a user runs it: `start`, `status`, `restart`, `reload`, `stop`,
//! `logs`, `auth` on a temporary `JEAN2_DATA_DIR` with `-p 0`, with the inherited environment
//! cleared. Every wait is a poll with a deadline.

pub mod harness;
mod request_log;

use harness::{Daemon, status_of, wait_until_lock_released};

use crate::helpers::urlencode;

const TOKEN_A: &str = "first-token-0123456789";
const TOKEN_B: &str = "second-token-9876543210";

#[tokio::test]
async fn lifecycle_start_status_rotate_token_restart_stop() {
    let d = Daemon::new();
    let started = d.ok(&["start", "-p", "0"]);
    let url = d.url();
    for expected in [
        "jean2 started (pid",
        url.as_str(),
        "auth:  off",
        "server.log",
    ] {
        assert!(started.stdout.contains(expected), "{expected}: {started:?}");
    }

    let status = d.ok(&["status"]);
    assert!(status.stdout.contains("jean2 is running"), "{status:?}");
    assert!(status.stdout.contains(&url), "{status:?}");
    assert!(status.stdout.contains(&d.pid().to_string()), "{status:?}");
    assert_eq!(status_of(format!("{url}/api/health"), None).await, 200);
    assert_eq!(
        status_of(format!("{url}/api/auth/verify"), None).await,
        200,
        "auth is off"
    );
    // The log is written behind the server's back (at most 20 ms later, longer on a busy
    // machine): poll for it.
    crate::helpers::wait_until("the start-up lines in `jean2 logs`", async || {
        let logs = d.ok(&["logs", "-n", "5", "--no-follow"]);
        logs.stdout.contains("listening on")
    })
    .await;

    d.write_env(&format!("JEAN2_AUTH_TOKEN={TOKEN_A}\n"));
    let restarted = d.ok(&["restart", "-p", "0"]);
    assert!(restarted.stdout.contains("jean2 stopped"), "{restarted:?}");
    assert!(
        restarted
            .stdout
            .contains("auth:  on (token fi…89 (22 chars))"),
        "{restarted:?}"
    );
    assert!(
        !restarted.all().contains(TOKEN_A),
        "the token is never printed"
    );
    let verify = format!("{}/api/auth/verify", d.url());
    assert_eq!(status_of(verify.clone(), None).await, 401, "no token");
    assert_eq!(
        status_of(verify.clone(), Some(TOKEN_A)).await,
        200,
        "token A"
    );

    d.write_env(&format!("JEAN2_AUTH_TOKEN={TOKEN_B}\n"));
    d.ok(&["restart", "-p", "0"]);
    let verify = format!("{}/api/auth/verify", d.url());
    assert_eq!(
        status_of(verify.clone(), Some(TOKEN_A)).await,
        401,
        "old token"
    );
    assert_eq!(
        status_of(verify.clone(), Some(TOKEN_B)).await,
        200,
        "new token"
    );

    let stopped = d.ok(&["stop"]);
    assert!(stopped.stdout.contains("jean2 stopped"), "{stopped:?}");
    assert!(!d.path("server.pid").exists(), "pidfile removed on stop");
    let status = d.run(&["status"]);
    assert_eq!(status.code, Some(3), "{status:?}");
    assert!(status.stdout.contains("not running"), "{status:?}");
    let again = d.ok(&["stop"]);
    assert!(again.stdout.contains("jean2 is not running"), "{again:?}");
}

#[test]
fn start_while_running_fails_clearly_and_keeps_the_first_server() {
    let d = Daemon::new();
    d.ok(&["start", "-p", "0"]);
    let pid = d.pid().to_string();

    let second = d.run(&["start", "-p", "0"]);
    assert_ne!(second.code, Some(0), "{second:?}");
    assert!(second.stderr.contains("already running"), "{second:?}");
    assert!(second.stderr.contains(&pid), "{second:?}");

    let foreground = d.run(&["server", "-p", "0"]);
    assert_ne!(foreground.code, Some(0), "{foreground:?}");
    assert!(
        foreground.stderr.contains("already running") && foreground.stderr.contains(&pid),
        "{foreground:?}"
    );

    let status = d.ok(&["status"]);
    assert!(status.stdout.contains(&pid), "{status:?}");
}

#[test]
fn stale_pidfile_after_kill_9_is_reported_and_cleaned() {
    let d = Daemon::new();
    let pidfile = d.path("server.pid");
    for cleaner in ["status", "stop", "start"] {
        d.ok(&["start", "-p", "0"]);
        let pid = d.pid();
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid as i32),
            nix::sys::signal::Signal::SIGKILL,
        )
        .unwrap();
        wait_until_lock_released(&pidfile);
        assert!(pidfile.exists(), "kill -9 leaves the file behind");

        let args: &[&str] = if cleaner == "start" {
            &["start", "-p", "0"]
        } else {
            &[cleaner]
        };
        let run = d.run(args);
        assert!(
            run.stderr.contains("stale") && run.stderr.contains(&pid.to_string()),
            "{cleaner}: {run:?}"
        );
        match cleaner {
            "status" => assert_eq!(run.code, Some(3), "{run:?}"),
            "stop" => {
                assert_eq!(run.code, Some(0), "{run:?}");
                assert!(run.stdout.contains("not running"), "{run:?}");
            }
            _ => {
                assert_eq!(run.code, Some(0), "start after a stale file: {run:?}");
                assert_ne!(d.pid(), pid, "a new server runs");
                d.ok(&["stop"]);
            }
        }
        assert!(!pidfile.exists(), "{cleaner} removed the stale file");
    }
}

#[test]
fn port_in_use_gives_a_clear_error_and_a_non_zero_exit() {
    let d = Daemon::new();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();

    let start = d.run(&["start", "-p", &port]);
    assert_ne!(start.code, Some(0), "{start:?}");
    assert!(
        start.stderr.contains("in use") && start.stderr.contains(&port),
        "{start:?}"
    );
    assert_eq!(d.run(&["status"]).code, Some(3), "nothing left running");

    let foreground = d.run(&["server", "-p", &port]);
    assert_ne!(foreground.code, Some(0), "{foreground:?}");
    assert!(foreground.stderr.contains("in use"), "{foreground:?}");
    assert!(!d.path("server.pid").exists(), "no pidfile left behind");
}

#[tokio::test]
async fn the_token_never_appears_in_server_log() {
    let d = Daemon::new();
    d.write_env(&format!("JEAN2_AUTH_TOKEN={TOKEN_A}\nJEAN2_LOG=debug\n"));
    d.ok(&["start", "-p", "0"]);
    let url = d.url();
    let q = urlencode(TOKEN_A);
    assert_eq!(
        status_of(format!("{url}/api/auth/verify"), Some(TOKEN_A)).await,
        200
    );
    assert_eq!(
        status_of(format!("{url}/api/auth/verify?token={q}"), None).await,
        200
    );
    assert_eq!(
        status_of(format!("{url}/api/nothing-here?token={q}&x=1"), None).await,
        404
    );
    let ws = format!("{}/ws?token={q}", url.replacen("http", "ws", 1));
    let (mut socket, _) = tokio_tungstenite::connect_async(ws).await.expect("ws");
    socket.close(None).await.unwrap();
    d.ok(&["stop"]);

    let log = d.log();
    assert!(
        log.contains("/api/auth/verify"),
        "requests are logged:\n{log}"
    );
    assert!(
        log.contains("token=***"),
        "query tokens are scrubbed:\n{log}"
    );
    assert!(
        !log.contains(TOKEN_A),
        "the token leaked into server.log:\n{log}"
    );
}

#[tokio::test]
async fn environment_wins_over_env_file_through_the_binary() {
    let d = Daemon::new().with_env("JEAN2_AUTH_TOKEN", TOKEN_B);
    d.write_env(&format!("JEAN2_AUTH_TOKEN={TOKEN_A}\n"));
    d.ok(&["start", "-p", "0"]);
    let verify = format!("{}/api/auth/verify", d.url());
    assert_eq!(
        status_of(verify.clone(), Some(TOKEN_B)).await,
        200,
        "env token"
    );
    assert_eq!(status_of(verify, Some(TOKEN_A)).await, 401, ".env token");

    let auth = d.ok(&["auth"]);
    assert!(
        auth.stdout.contains("auth: on") && auth.stdout.contains("se…10 (23 chars)"),
        "{auth:?}"
    );
    assert!(auth.stdout.contains("environment"), "{auth:?}");
    assert!(
        !auth.all().contains(TOKEN_B) && !auth.all().contains(TOKEN_A),
        "{auth:?}"
    );
}

#[tokio::test]
async fn reload_applies_a_new_token_without_restarting() {
    let d = Daemon::new();
    d.write_env(&format!("JEAN2_AUTH_TOKEN={TOKEN_A}\n"));
    d.ok(&["start", "-p", "0"]);
    let (pid, verify) = (d.pid(), format!("{}/api/auth/verify", d.url()));
    assert_eq!(status_of(verify.clone(), Some(TOKEN_A)).await, 200);

    d.write_env(&format!(
        "JEAN2_AUTH_TOKEN={TOKEN_B}\nJEAN2_TRUSTED_PROXIES=10.0.0.1\n"
    ));
    let reload = d.ok(&["reload"]);
    assert!(reload.stdout.contains("reloaded"), "{reload:?}");
    // What a reload cannot apply is named, and nothing that did not change.
    assert!(
        reload.stdout.contains("until a restart")
            && reload.stdout.contains("JEAN2_TRUSTED_PROXIES"),
        "{reload:?}"
    );
    assert!(!reload.stdout.contains("JEAN2_PORT"), "{reload:?}");
    assert!(!reload.all().contains(TOKEN_B), "{reload:?}");
    assert_eq!(
        status_of(verify.clone(), Some(TOKEN_B)).await,
        200,
        "new token"
    );
    assert_eq!(status_of(verify, Some(TOKEN_A)).await, 401, "old token");
    assert_eq!(d.pid(), pid, "same process");
    assert!(d.ok(&["status"]).stdout.contains(&pid.to_string()));
}

#[test]
fn commands_say_when_the_server_is_not_running() {
    let d = Daemon::new();
    let stop = d.ok(&["stop"]);
    assert!(stop.stdout.contains("jean2 is not running"), "{stop:?}");
    let reload = d.run(&["reload"]);
    assert_eq!(reload.code, Some(1), "{reload:?}");
    assert!(reload.stderr.contains("not running"), "{reload:?}");
    let logs = d.ok(&["logs", "--no-follow"]);
    assert!(logs.stdout.contains("no log yet"), "{logs:?}");
    let status = d.run(&["status"]);
    assert_eq!(status.code, Some(3), "{status:?}");
}

#[test]
fn output_into_a_closed_pipe_ends_a_command_quietly() {
    let d = Daemon::new();
    for args in [&["auth"][..], &["status"], &["version"], &["users", "list"]] {
        let run = d.run_into_a_closed_pipe(args);
        assert!(!run.stderr.contains("panicked"), "jean2 {args:?}: {run:?}");
        assert_ne!(run.code, Some(101), "jean2 {args:?}: {run:?}");
    }
}

#[test]
fn a_configuration_error_is_reported_at_once_and_restart_keeps_the_old_server() {
    let d = Daemon::new();
    d.write_env("JEAN2_PORT=abc\n");
    let start = d.run(&["start"]);
    assert_ne!(start.code, Some(0), "{start:?}");
    assert!(
        start.stderr.contains("JEAN2_PORT") && start.stderr.contains("abc"),
        "{start:?}"
    );
    assert!(!d.path("server.log").exists(), "no server was spawned");

    d.write_env("");
    d.ok(&["start", "-p", "0"]);
    let pid = d.pid();
    d.write_env("JEAN2_TLS_ENABLED=maybe\n");
    let restart = d.run(&["restart", "-p", "0"]);
    assert_ne!(restart.code, Some(0), "{restart:?}");
    assert!(restart.stderr.contains("JEAN2_TLS_ENABLED"), "{restart:?}");
    assert_eq!(d.pid(), pid, "the running server was left alone");
}

#[test]
fn tls_with_a_missing_certificate_file_fails_start_naming_the_file() {
    let d = Daemon::new();
    let cert = d.path("missing/cert.pem");
    let key = d.path("missing/key.pem");
    d.write_env(&format!(
        "JEAN2_TLS_ENABLED=true\nJEAN2_TLS_CERT_FILE={}\nJEAN2_TLS_KEY_FILE={}\n",
        cert.display(),
        key.display()
    ));
    let start = d.run(&["start", "-p", "0"]);
    assert_ne!(start.code, Some(0), "{start:?}");
    assert!(
        start.stderr.contains(&cert.display().to_string()),
        "{start:?}"
    );
    assert_eq!(d.run(&["status"]).code, Some(3));
}

#[tokio::test]
async fn start_with_tls_serves_https_and_reports_an_https_url() {
    let d = Daemon::new();
    let ck =
        rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()]).unwrap();
    std::fs::write(d.path("cert.pem"), ck.cert.pem()).unwrap();
    std::fs::write(d.path("key.pem"), ck.key_pair.serialize_pem()).unwrap();
    d.write_env(&format!(
        "JEAN2_TLS_ENABLED=true\nJEAN2_TLS_CERT_FILE={}\nJEAN2_TLS_KEY_FILE={}\n",
        d.path("cert.pem").display(),
        d.path("key.pem").display()
    ));
    let start = d.ok(&["start", "-p", "0"]);
    let url = d.url();
    assert!(url.starts_with("https://127.0.0.1:"), "{url}");
    assert!(start.stdout.contains(&url), "{start:?}");
    assert_eq!(status_of(format!("{url}/api/health"), None).await, 200);
}
