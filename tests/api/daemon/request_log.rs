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
