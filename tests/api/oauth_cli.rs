//! The admin commands of the real binary: `jean2 users add`, `jean2 apps create --json`,
//! `jean2 apps usage`, then a server on the same data directory accepting what they made.

use std::io::Write as _;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

use crate::oauth_support::*;

fn jean2(dir: &std::path::Path, args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_jean2"))
        .args(args)
        .env("JEAN2_DATA_DIR", dir)
        .env_remove("JEAN2_AUTH_TOKEN")
        .env_remove("JEAN2_OAUTH_ENABLED")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run jean2");
    let mut input = child.stdin.take().unwrap();
    if let Some(s) = stdin {
        input.write_all(s.as_bytes()).unwrap();
    }
    drop(input);
    child.wait_with_output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[tokio::test]
async fn users_and_apps_made_by_the_cli_complete_the_pkce_flow() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().to_owned();
    // On PostgreSQL, the CLI finds the database in the data dir's .env, as a user's would.
    let db = crate::helpers::test_database().await;
    if let Some(url) = &db {
        std::fs::write(
            p.join(".env"),
            format!("JEAN2_DATABASE_URL={}\n", url.expose()),
        )
        .unwrap();
    }
    the_cli_adds_a_user_only_with_a_password_on_stdin_and_once(&p);

    let created = jean2(
        &p,
        &[
            "apps",
            "create",
            "--name",
            "Test <App>",
            "--redirect-uri",
            REDIRECT,
            "--json",
        ],
        None,
    );
    assert!(created.status.success(), "{}", text(&created.stderr));
    let app: Value = serde_json::from_slice(&created.stdout).expect("--json prints JSON");
    let client_id = app["client_id"].as_str().unwrap().to_owned();
    assert!(app["client_secret"].is_null(), "public app: no secret");
    let api_key = app["api_key"].as_str().unwrap().to_owned();
    assert!(api_key.starts_with("jean_sk_"));
    let bad = jean2(
        &p,
        &[
            "apps",
            "create",
            "--name",
            "x",
            "--redirect-uri",
            "http://evil.example/cb",
        ],
        None,
    );
    assert!(
        !bad.status.success() && text(&bad.stderr).contains("https"),
        "plain http redirect URIs are refused: {}",
        text(&bad.stderr)
    );

    let listed = text(&jean2(&p, &["apps", "list"], None).stdout);
    assert!(
        listed.contains(&client_id) && !listed.contains(&api_key),
        "{listed}"
    );

    let s = spawn_oauth_on(dir, move |s| s.database_url = db).await;
    let t = s.tokens_for(&client_id, "cli@example.com").await;
    assert_eq!(s.me(t["access_token"].as_str().unwrap()).await.0, 200);
    assert_eq!(
        s.app.get_auth("/api/auth/verify", &api_key).await.status(),
        200
    );
    let dir = s.app.stop().await;

    let usage = jean2(dir.path(), &["apps", "usage", &client_id], None);
    let out = text(&usage.stdout);
    let today = jean2::time::day_of(jean2::time::now_ms());
    assert!(
        out.contains(&format!("{today}  2")),
        "two requests today: {out}"
    );
}

fn the_cli_adds_a_user_only_with_a_password_on_stdin_and_once(p: &std::path::Path) {
    let refused = jean2(p, &["users", "add", "--email", "cli@example.com"], None);
    assert!(!refused.status.success());
    assert!(
        text(&refused.stderr).contains("--password-stdin"),
        "{}",
        text(&refused.stderr)
    );

    let added = jean2(
        p,
        &[
            "users",
            "add",
            "--email",
            "cli@example.com",
            "--password-stdin",
        ],
        Some(&format!("{PASSWORD}\n")),
    );
    assert!(added.status.success(), "{}", text(&added.stderr));
    let dup = jean2(
        p,
        &[
            "users",
            "add",
            "--email",
            "CLI@example.com",
            "--password-stdin",
        ],
        Some(PASSWORD),
    );
    assert!(
        !dup.status.success(),
        "emails are unique regardless of case"
    );
}
