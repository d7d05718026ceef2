//! The request log as the real binary writes it to `server.log`: one line per request at
//! `info`, with the scrubbed URI, status, route, duration and request id, and none at `warn`.

use super::harness::{Daemon, client};
use crate::helpers::urlencode;

const TOKEN: &str = "request-log-token-0123456789";

/// Start a server at `level`, send one verify request (token in the query, a given request
/// id) and stop it, which writes out the log; return the log.
async fn log_of_one_request(level: &str) -> String {
    let d = Daemon::new();
    d.write_env(&format!("JEAN2_AUTH_TOKEN={TOKEN}\nJEAN2_LOG={level}\n"));
    d.ok(&["start", "-p", "0"]);
    let url = format!("{}/api/auth/verify?token={}&x=1", d.url(), urlencode(TOKEN));
    let res = client()
        .get(url)
        .header("x-request-id", "given-id-7")
        .send()
        .await
        .expect("request");
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["x-request-id"], "given-id-7");
    d.ok(&["stop"]);
    d.log()
}

#[tokio::test]
async fn at_info_each_request_ends_in_one_line_with_its_scrubbed_uri_status_route_and_id() {
    let log = log_of_one_request("info").await;
    let lines: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("/api/auth/verify"))
        .collect();
    assert_eq!(lines.len(), 1, "one line per request:\n{log}");
    let line = lines[0];
    let (time, rest) = line.split_once(' ').unwrap();
    assert!(
        time.len() == 27 && time.ends_with('Z') && time.as_bytes()[10] == b'T',
        "an RFC 3339 timestamp with microseconds first: {line}"
    );
    let want = r#" INFO GET /api/auth/verify?token=***&x=1 200 http.route="/api/auth/verify" duration_ms="#;
    assert!(rest.starts_with(want), "{line}");
    assert!(line.ends_with(r#" request.id="given-id-7""#), "{line}");
    assert!(!log.contains(TOKEN), "the token leaked:\n{log}");
    assert!(
        !log.contains("GET /api/health"),
        "health checks are logged at debug:\n{log}"
    );
}

#[tokio::test]
async fn at_warn_a_successful_request_writes_no_line() {
    let log = log_of_one_request("warn").await;
    assert!(!log.contains("/api/auth/verify"), "{log}");
}

/// `server.log` past `JEAN2_LOG_MAX_MB` is renamed `server.log.1` and a new one started, which
/// the server's standard output and error then go to (its stop lines land there), and
/// `jean2 logs` reads.
#[tokio::test]
async fn a_full_log_is_rotated_and_the_server_writes_on_into_the_new_one() {
    let d = Daemon::new();
    d.write_env(&format!("JEAN2_AUTH_TOKEN={TOKEN}\nJEAN2_LOG_MAX_MB=1\n"));
    d.ok(&["start", "-p", "0"]);
    // ~2 KB lines: 1 MiB in about 500 requests.
    let url = format!("{}/api/auth/verify?pad={}", d.url(), "p".repeat(2000));
    let http = client();
    let rotated = d.path("server.log.1");
    for _ in 0..5000 {
        let res = http
            .get(&url)
            .bearer_auth(TOKEN)
            .send()
            .await
            .expect("request");
        assert_eq!(res.status(), 200);
        if rotated.exists() {
            break;
        }
    }
    assert!(rotated.exists(), "no rotation after 10 MB of lines");
    let old = std::fs::metadata(&rotated).unwrap().len();
    assert!(old >= 1024 * 1024, "rotated at {old} bytes");
    let last = http
        .get(format!("{}/api/auth/verify?last=1", d.url()))
        .bearer_auth(TOKEN)
        .send()
        .await
        .expect("request");
    assert_eq!(last.status(), 200);
    d.ok(&["stop"]);
    let log = d.log();
    assert!(log.len() < 1024 * 1024, "the new log: {} bytes", log.len());
    assert!(log.contains("GET /api/auth/verify?last=1 200"), "{log}");
    assert!(
        log.contains("INFO stopped"),
        "the stop lines go to the new file:\n{log}"
    );
    let shown = d.ok(&["logs", "--no-follow", "-n", "3"]).all();
    assert!(shown.contains("INFO stopped"), "{shown}");
}
