//! What survives a restart, and one database file per server.

use reqwest::Method;
use serde_json::{Map, Value, json};

use crate::helpers::*;
use jean2::store::{Message, Part};

fn obj(v: Value) -> Map<String, Value> {
    v.as_object().unwrap().clone()
}

#[tokio::test]
async fn a_restart_on_the_same_data_dir_finds_workspaces_sessions_and_messages() {
    let app = spawn_app().await;
    let ws = app.create_workspace("Kept").await;
    let wid = ws["id"].as_str().unwrap().to_owned();
    let session = app.create_session(&wid).await;
    let sid = session["id"].as_str().unwrap().to_owned();
    let settings = app.settings.clone();
    let dir = app.stop().await;

    // While the server is down, write a turn the way the chat turn does (the lock is free now).
    let (user, reply) = write_a_turn_while_the_server_is_down(&settings, &sid).await;

    let app = spawn_on(dir, settings).await;
    let (_, list) = app.call(Method::GET, "/api/workspaces", None).await;
    assert_eq!(
        list["workspaces"],
        json!([ws]),
        "the same workspace, and no default added"
    );
    let (_, got) = app
        .call(Method::GET, &format!("/api/sessions/{sid}"), None)
        .await;
    assert_eq!(got["session"], session);

    let (_, transcript) = app
        .call(
            Method::GET,
            &format!("/api/sessions/{sid}/transcript"),
            None,
        )
        .await;
    let texts: Vec<&str> = transcript["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["parts"][0]["text"].as_str().unwrap())
        .collect();
    assert_eq!(texts, vec!["Hello", "Hi!"]);
    assert_eq!(transcript["pagination"]["oldestSequence"], 1);
    assert_eq!(transcript["pagination"]["newestSequence"], 2);
    let (_, older) = app
        .call(
            Method::GET,
            &format!("/api/sessions/{sid}/transcript?before=2&limit=1"),
            None,
        )
        .await;
    assert_eq!(older["messages"][0]["message"]["id"], user.id.as_str());

    let mut ws = app.ws(None).await.unwrap();
    ws.send_json(&json!({"type": "session.resume", "sessionId": sid}))
        .await;
    let resumed = ws.expect("session.resumed").await;
    assert_eq!(resumed["messages"], transcript["messages"]);
    assert_eq!(resumed["messages"][1]["message"]["role"], "assistant");
    // A reply left `streaming` when the server stopped is recovered as `interrupted` at start.
    assert_eq!(resumed["messages"][1]["message"]["status"], "interrupted");
    assert_eq!(
        resumed["messages"][1]["parts"][0]["messageId"],
        reply.id.as_str()
    );
}

/// A user message and a reply still `streaming`, written straight to the store as the chat turn
/// does; returns both.
async fn write_a_turn_while_the_server_is_down(
    settings: &jean2::config::Settings,
    sid: &str,
) -> (Message, Message) {
    let store = store_of(settings).await;
    let user = store
        .create_message(&Message::user(sid, 1_000))
        .await
        .unwrap();
    store
        .create_part(&Part::new(
            &user,
            1_001,
            obj(json!({"type": "text", "text": "Hello"})),
        ))
        .await
        .unwrap();
    let reply = store
        .create_message(&Message::assistant(sid, 1_002, "gpt-4o", "openai"))
        .await
        .unwrap();
    store
        .create_part(&Part::new(
            &reply,
            1_003,
            obj(json!({"type": "text", "text": "Hi!"})),
        ))
        .await
        .unwrap();
    store.close().await;
    (user, reply)
}

#[tokio::test]
async fn a_second_server_on_the_same_database_refuses_to_start() {
    if !on_sqlite() {
        return; // PostgreSQL is for several servers on one database (see `cluster`).
    }
    let app = spawn_app().await;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let err = jean2::server::run(app.settings.clone(), listener, std::future::pending())
        .await
        .expect_err("the second server must not start");
    let text = format!("{err:#}");
    assert!(text.contains("in use by another jean2 server"), "{text}");
    // The first one is unharmed.
    let ws = app.create_workspace("still fine").await;
    assert_eq!(ws["name"], "still fine");
}

#[tokio::test]
async fn the_real_binary_refuses_a_database_that_another_server_holds() {
    if !on_sqlite() {
        return;
    }
    let app = spawn_app().await;
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_jean2"))
        .arg("server")
        .env_clear()
        .env("HOME", app.data_dir.path())
        .env("JEAN2_DATA_DIR", app.data_dir.path())
        .env("JEAN2_PORT", "0")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("in use by another jean2 server"),
        "{stderr}"
    );
    assert!(
        stderr.contains("jean2 stop"),
        "says how to fix it: {stderr}"
    );
}
