//! Pinned messages (`PROTOCOL-AGENT.md` §16 item 10): list, pin (201, the same pin again),
//! only assistant messages (422), unknown workspace, session or message (404), what does not
//! belong together (400), unpin by message id (also of an unknown one), kept across a restart.

use reqwest::Method;
use serde_json::{Value, json};

use crate::chat::{app_for, client_with_session, find, recv_turn, recv_type, send_chat};
use crate::fake_llm::FakeLlm;
use crate::helpers::{TestApp, spawn_on};

/// A session with one finished turn: `(session, workspace, user message, assistant message)`.
async fn chatted(app: &TestApp) -> (String, String, String, String) {
    let (mut ws, sid) = client_with_session(app).await;
    send_chat(&mut ws, &sid, "hi").await;
    let events = recv_turn(&mut ws).await;
    // The title comes after the turn; wait for it so the pin's title is settled.
    recv_type(&mut ws, "session.renamed").await;
    let id_of = |role: &str| {
        events
            .iter()
            .find(|e| e["type"] == "message.created" && e["message"]["role"] == role)
            .unwrap()["message"]["id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let (_, s) = app
        .call(Method::GET, &format!("/api/sessions/{sid}"), None)
        .await;
    let wid = s["session"]["workspaceId"].as_str().unwrap().to_owned();
    assert_eq!(
        find(&events, "message.updated")["message"]["status"],
        "completed"
    );
    (sid, wid, id_of("user"), id_of("assistant"))
}

fn pins(wid: &str) -> String {
    format!("/api/workspaces/{wid}/pinned-messages")
}

#[tokio::test]
async fn an_assistant_message_is_pinned_once_listed_and_unpinned_by_its_id() {
    let fake = FakeLlm::start().await;
    let app = app_for(&fake).await;
    let (sid, wid, _, reply) = chatted(&app).await;
    assert_eq!(
        app.call(Method::GET, &pins(&wid), None).await,
        (200, json!({"pinnedMessages": []}))
    );

    let body = json!({"sessionId": sid, "messageId": reply});
    let (status, first) = app.call(Method::POST, &pins(&wid), Some(&body)).await;
    assert_eq!(status, 201, "{first}");
    let pin = &first["pinnedMessage"];
    assert_eq!(
        (&pin["workspaceId"], &pin["sessionId"], &pin["messageId"]),
        (&json!(wid), &json!(sid), &json!(reply))
    );
    assert_eq!(pin["sessionTitle"], "Fake Title");
    assert_eq!(pin["preview"], "Hello there");
    assert!(
        pin["createdAt"].is_i64() && pin["messageCreatedAt"].is_i64(),
        "{pin}"
    );
    assert!(pin["id"].is_string());
    let (status, again) = app.call(Method::POST, &pins(&wid), Some(&body)).await;
    assert_eq!((status, &again), (201, &first), "the same pin");
    let (status, list) = app.call(Method::GET, &pins(&wid), None).await;
    assert_eq!((status, list), (200, json!({"pinnedMessages": [pin]})));

    let settings = app.settings.clone();
    let app = spawn_on(app.stop().await, settings).await;
    let (_, list) = app.call(Method::GET, &pins(&wid), None).await;
    assert_eq!(
        list["pinnedMessages"][0]["id"], pin["id"],
        "kept across a restart"
    );

    let one = format!("{}/{reply}", pins(&wid));
    assert_eq!(
        app.call(Method::DELETE, &one, None).await,
        (200, json!({"success": true}))
    );
    assert_eq!(
        app.call(Method::DELETE, &one, None).await,
        (200, json!({"success": true})),
        "again"
    );
    let unknown = format!("{}/no-such-message", pins(&wid));
    assert_eq!(
        app.call(Method::DELETE, &unknown, None).await,
        (200, json!({"success": true}))
    );
    assert_eq!(
        app.call(Method::GET, &pins(&wid), None).await,
        (200, json!({"pinnedMessages": []}))
    );
}

/// A pin request that must be refused with `status`, `code` and `message`.
async fn refused(app: &TestApp, label: &str, wid: &str, body: Value, want: (u16, &str, &str)) {
    let (status, answer) = app.call(Method::POST, &pins(wid), Some(&body)).await;
    assert_eq!(status, want.0, "{label}: {answer}");
    let got = (answer["error"].as_str(), answer["message"].as_str());
    assert_eq!(got, (Some(want.1), Some(want.2)), "{label}");
}

#[tokio::test]
async fn a_pin_of_something_unknown_is_404_naming_what_is_missing() {
    let fake = FakeLlm::start().await;
    let app = app_for(&fake).await;
    let (sid, wid, _, reply) = chatted(&app).await;
    let body = json!({"sessionId": sid, "messageId": reply});
    let want = (404, "workspace_not_found", "Workspace not found");
    refused(&app, "an unknown workspace", "nope", body, want).await;
    let body = json!({"sessionId": "nope", "messageId": reply});
    let want = (404, "session_not_found", "Session not found");
    refused(&app, "an unknown session", &wid, body, want).await;
    let body = json!({"sessionId": sid, "messageId": "nope"});
    let want = (404, "message_not_found", "Message not found");
    refused(&app, "an unknown message", &wid, body, want).await;

    let (status, answer) = app.call(Method::GET, &pins("nope"), None).await;
    let got = (status, answer["message"].as_str());
    assert_eq!(got, (404, Some("Workspace not found")), "list");
    let unpin = format!("{}/{reply}", pins("nope"));
    assert_eq!(app.call(Method::DELETE, &unpin, None).await.0, 404, "unpin");
}

#[tokio::test]
async fn a_pin_of_what_does_not_belong_together_or_is_not_the_assistants_is_refused() {
    let fake = FakeLlm::start().await;
    let app = app_for(&fake).await;
    let (sid, wid, user, reply) = chatted(&app).await;
    let id = |v: Value| v["id"].as_str().unwrap().to_owned();
    let other_wid = id(app.create_workspace("other").await);
    let other_sid = id(app.create_session(&other_wid).await);
    let sibling = id(app.create_session(&wid).await);

    let body = json!({"sessionId": sid, "messageId": user});
    let want = (
        422,
        "message_not_assistant",
        "Only assistant messages can be pinned",
    );
    refused(&app, "a user message", &wid, body, want).await;
    let body = json!({"sessionId": other_sid, "messageId": reply});
    let want = (
        400,
        "session_workspace_mismatch",
        "Session does not belong to this workspace",
    );
    refused(&app, "a session of another workspace", &wid, body, want).await;
    let body = json!({"sessionId": sibling, "messageId": reply});
    let want = (
        400,
        "message_session_mismatch",
        "Message does not belong to this session",
    );
    refused(&app, "a message of another session", &wid, body, want).await;
    let want = (400, "bad_request", "Validation failed");
    refused(&app, "no message id", &wid, json!({"sessionId": sid}), want).await;

    let (_, list) = app.call(Method::GET, &pins(&wid), None).await;
    assert_eq!(list, json!({"pinnedMessages": []}), "nothing was pinned");
}
