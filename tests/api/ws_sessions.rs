//! The WebSocket session protocol: lifecycle replies, who hears what, errors, tolerated types.

use serde_json::{Value, json};

use crate::helpers::*;

async fn connected(app: &TestApp) -> WsClient {
    let mut ws = app.ws(None).await.expect("ws");
    ws.register().await;
    ws
}

async fn workspace_id(app: &TestApp) -> String {
    app.create_workspace("W").await["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn create_resume_rename_close_reopen_delete() {
    let app = spawn_app().await;
    let wid = workspace_id(&app).await;
    let mut ws = connected(&app).await;

    ws.send_json(&json!({"type": "session.create", "preconfigId": "general", "workspaceId": wid}))
        .await;
    let created = ws.expect("session.created").await;
    let s = &created["session"];
    assert_eq!(
        (s["workspaceId"].as_str(), s["title"].as_str()),
        (Some(wid.as_str()), Some("New Session"))
    );
    assert_eq!(
        (s["preconfigId"].as_str(), s["status"].as_str()),
        (Some("general"), Some("active"))
    );
    let sid = s["id"].as_str().unwrap().to_owned();

    for round in 0..2 {
        // Idempotent: the client resumes twice after a reload.
        ws.send_json(&json!({"type": "session.resume", "sessionId": sid}))
            .await;
        let resumed = ws.expect("session.resumed").await;
        assert_eq!(resumed["session"]["id"], sid.as_str(), "round {round}");
        assert_eq!(resumed["messages"], json!([]));
        assert_eq!(
            resumed["transcript"],
            json!({"messages": [], "pagination": {"hasOlder": false, "oldestSequence": null, "newestSequence": null, "limit": 50}})
        );
        assert_eq!(resumed["isRunning"], false);
        assert!(resumed.get("usage").is_none(), "no usage before any tokens");
        assert_eq!(
            resumed["control"],
            json!({"sessionId": sid, "controllerClientId": null, "status": "uncontrolled"})
        );
        let sync = ws.expect("ask.pending_sync").await;
        assert_eq!(
            sync,
            json!({"type": "ask.pending_sync", "sessionId": sid, "requests": []})
        );
    }

    ws.send_json(&json!({"type": "session.rename", "sessionId": sid, "title": "Renamed"}))
        .await;
    let renamed = ws.expect("session.renamed").await;
    assert_eq!(renamed["session"]["title"], "Renamed");

    ws.send_json(&json!({"type": "session.close", "sessionId": sid}))
        .await;
    assert_eq!(
        ws.expect("session.closed").await,
        json!({"type": "session.closed", "sessionId": sid})
    );
    let (_, got) = app
        .call(reqwest::Method::GET, &format!("/api/sessions/{sid}"), None)
        .await;
    assert_eq!(got["session"]["status"], "closed");

    ws.send_json(&json!({"type": "session.reopen", "sessionId": sid}))
        .await;
    let reopened = ws.expect("session.reopened").await;
    assert_eq!(reopened["session"]["status"], "active");

    ws.send_json(&json!({"type": "session.update", "sessionId": sid, "preconfigId": "code"}))
        .await;
    let updated = ws.expect("session.updated").await;
    assert_eq!(updated["session"]["preconfigId"], "code");

    ws.send_json(&json!({"type": "session.update_model", "sessionId": sid, "modelId": "gpt-4o", "providerId": "openai", "variant": "high"})).await;
    let updated = ws.expect("session.updated").await;
    assert_eq!(
        (
            &updated["session"]["selectedModel"],
            &updated["session"]["selectedProvider"],
            &updated["session"]["selectedVariant"]
        ),
        (&json!("gpt-4o"), &json!("openai"), &json!("high"))
    );

    ws.send_json(&json!({"type": "session.delete", "sessionId": sid}))
        .await;
    assert_eq!(
        ws.expect("session.deleted").await,
        json!({"type": "session.deleted", "sessionId": sid})
    );
    let (status, _) = app
        .call(reqwest::Method::GET, &format!("/api/sessions/{sid}"), None)
        .await;
    assert_eq!(status, 404);
    ws.expect_nothing_before_barrier("nothing after the delete")
        .await;
}

#[tokio::test]
async fn who_hears_what_between_two_connections() {
    let app = spawn_app().await;
    let wid = workspace_id(&app).await;
    let mut a = connected(&app).await;
    let mut b = connected(&app).await;

    a.send_json(&json!({"type": "session.create", "workspaceId": wid}))
        .await;
    let mine = a.expect("session.created").await;
    let theirs = b.expect("session.created").await;
    assert_eq!(mine, theirs, "session.created is broadcast to the others");
    let sid = mine["session"]["id"].as_str().unwrap().to_owned();

    // Only A resumed: a rename by B reaches A, and B (not a participant) hears nothing.
    a.send_json(&json!({"type": "session.resume", "sessionId": sid}))
        .await;
    a.expect("session.resumed").await;
    a.expect("ask.pending_sync").await;
    b.send_json(&json!({"type": "session.rename", "sessionId": sid, "title": "From B"}))
        .await;
    assert_eq!(
        a.expect("session.renamed").await["session"]["title"],
        "From B"
    );
    b.expect_nothing_before_barrier("a non-participant's rename gets no reply")
        .await;

    // update / update_model answer the sender only.
    b.send_json(&json!({"type": "session.update", "sessionId": sid}))
        .await;
    b.expect("session.updated").await;
    a.expect_nothing_before_barrier("session.update goes to the sender only")
        .await;

    // close: the sender (not a participant) and the participants hear it.
    b.send_json(&json!({"type": "session.close", "sessionId": sid}))
        .await;
    b.expect("session.closed").await;
    a.expect("session.closed").await;

    // B resumes too; now both hear a rename once each.
    b.send_json(&json!({"type": "session.resume", "sessionId": sid}))
        .await;
    b.expect("session.resumed").await;
    b.expect("ask.pending_sync").await;
    a.send_json(&json!({"type": "session.rename", "sessionId": sid, "title": "Both"}))
        .await;
    a.expect("session.renamed").await;
    b.expect("session.renamed").await;
    a.expect_nothing_before_barrier("once each (A)").await;
    b.expect_nothing_before_barrier("once each (B)").await;

    // A REST-created session is announced to every connection.
    app.create_session(&wid).await;
    a.expect("session.created").await;
    b.expect("session.created").await;
}

#[tokio::test]
async fn unknown_ids_answer_not_found() {
    let app = spawn_app().await;
    let mut ws = connected(&app).await;
    ws.send_json(&json!({"type": "session.resume", "sessionId": "nope"}))
        .await;
    assert_eq!(
        ws.expect("error").await,
        json!({"type": "error", "code": "not_found", "message": "Session not found"})
    );
    for (kind, extra) in [
        ("session.rename", json!({"title": "x"})),
        ("session.close", json!({})),
        ("session.reopen", json!({})),
        ("session.delete", json!({})),
        ("session.update", json!({})),
        (
            "session.update_model",
            json!({"modelId": "m", "providerId": "p"}),
        ),
    ] {
        let mut msg = extra.clone();
        msg["type"] = json!(kind);
        msg["sessionId"] = json!("nope");
        ws.send_json(&msg).await;
        let err = ws.expect("error").await;
        assert_eq!(
            (err["code"].as_str(), err["sessionId"].as_str()),
            (Some("not_found"), Some("nope")),
            "{kind}: {err}"
        );
    }
    ws.send_json(&json!({"type": "session.create", "workspaceId": "nope"}))
        .await;
    let err = ws.expect("error").await;
    assert_eq!(
        (err["code"].as_str(), err["message"].as_str()),
        (Some("not_found"), Some("Workspace not found"))
    );
    ws.send_json(&json!({"type": "session.rename", "title": "no id"}))
        .await;
    assert_eq!(ws.expect("error").await["code"], "invalid_message");
}

#[tokio::test]
async fn routine_client_messages_are_accepted_silently() {
    let app = spawn_app().await;
    let mut ws = connected(&app).await;
    for msg in [
        json!({"type": "notification.acknowledge", "eventId": "message:x:completed", "sessionId": "s"}),
        // An answer to no open ask is ignored, as upstream (PROTOCOL-AGENT.md §9.2).
        json!({"type": "ask.response", "toolCallId": "t", "response": {"type": "permission", "grant": "once"}}),
        json!({"type": "session.control.claim", "sessionId": "s"}),
        json!({"type": "session.control.release", "sessionId": "s"}),
        json!({"type": "session.control.request_takeover", "sessionId": "s"}),
        json!({"type": "session.control.respond_takeover", "sessionId": "s", "accept": true}),
        json!({"type": "sandbox.respond", "requestId": "r"}),
        json!({"type": "pong"}),
    ] {
        ws.send_json(&msg).await;
        ws.expect_nothing_before_barrier(msg["type"].as_str().unwrap())
            .await;
    }
}

#[tokio::test]
async fn incomplete_session_operations_and_provider_connect_are_answered_with_errors() {
    // chat.message, queue.* and session.interrupt are handled by the chat (tests/api/chat); the
    // session operations themselves by tests/api/session_ops.
    let app = spawn_app().await;
    let mut ws = connected(&app).await;
    for (kind, code, sid) in [
        ("session.fork", "invalid_message", Some("s")),
        ("session.compact", "not_found", Some("s")),
        ("provider.connect", "not_implemented", None),
    ] {
        let mut msg = json!({"type": kind, "content": "Hello", "queueId": "q"});
        if let Some(s) = sid {
            msg["sessionId"] = json!(s);
        }
        ws.send_json(&msg).await;
        let err: Value = ws.expect("error").await;
        assert_eq!(err["code"], code, "{kind}: {err}");
        assert_eq!(err["sessionId"].as_str(), sid, "{kind}");
    }
    ws.send_json(&json!({"type": "no.such.thing"})).await;
    assert_eq!(ws.expect("error").await["code"], "unknown_message");
}
