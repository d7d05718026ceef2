//! `session.revert` (§11.2): `session.reverted` then `session.state`, the later messages gone
//! from the store and from what the model receives; refused while a reply runs and for a
//! message the session does not have, changing nothing.

use serde_json::json;

use super::*;
use crate::chat::{app_for, client_with_session, recv_type};
use crate::fake_llm::{Gate, Script};

#[tokio::test]
async fn a_revert_deletes_what_follows_the_message_and_sends_reverted_then_state() {
    let fake = FakeLlm::start().await;
    let app = app_for(&fake).await;
    let (mut ws, sid) = client_with_session(&app).await;
    turn(&mut ws, &sid, "first question").await;
    turn(&mut ws, &sid, "second question").await;
    crate::chat::wait_idle(&mut ws, &sid).await;
    let ids = message_ids(&mut ws, &sid).await;
    assert_eq!(ids.len(), 4);

    ws.send_json(&json!({"type": "session.revert", "sessionId": sid, "messageId": ids[1]}))
        .await;
    let reverted = recv_type(&mut ws, "session.reverted").await;
    assert_eq!(reverted["sessionId"], sid.as_str());
    assert_eq!(
        reverted["revertedTo"],
        json!({"messageId": ids[1], "messageCount": 1})
    );
    assert_eq!(reverted["removed"]["messageIds"], json!(ids[2..]));
    assert!(
        reverted["removed"]["partCount"].as_i64().unwrap() >= 3,
        "{reverted}"
    );
    let state = recv_type(&mut ws, "session.state").await;
    let want = vec![
        ("user".to_owned(), "first question".to_owned()),
        ("assistant".to_owned(), "Hello there".to_owned()),
    ];
    assert_eq!(texts_of(&state["messages"]), want);
    assert_eq!(transcript(&mut ws, &sid).await, want, "as stored");

    turn(&mut ws, &sid, "another question").await;
    let sent = last_sent(&fake);
    assert!(
        !sent.iter().any(|(_, t)| t.contains("second question")),
        "the reverted turn is not sent: {sent:?}"
    );
    assert_eq!(sent.len(), 3, "{sent:?}");
}

#[tokio::test]
async fn a_revert_to_the_first_message_clears_the_session() {
    let fake = FakeLlm::start().await;
    let app = app_for(&fake).await;
    let (mut ws, sid) = client_with_session(&app).await;
    turn(&mut ws, &sid, "only question").await;
    crate::chat::wait_idle(&mut ws, &sid).await;
    let ids = message_ids(&mut ws, &sid).await;
    ws.send_json(&json!({"type": "session.revert", "sessionId": sid, "messageId": ids[0]}))
        .await;
    let reverted = recv_type(&mut ws, "session.reverted").await;
    assert_eq!(
        reverted["revertedTo"],
        json!({"messageId": null, "messageCount": 0})
    );
    assert_eq!(reverted["removed"]["messageIds"], json!(ids));
    assert_eq!(
        recv_type(&mut ws, "session.state").await["messages"],
        json!([])
    );
    assert!(transcript(&mut ws, &sid).await.is_empty());
}

#[tokio::test]
async fn a_revert_is_refused_while_a_reply_runs_and_for_an_unknown_message() {
    let fake = FakeLlm::start().await;
    let app = app_for(&fake).await;
    let (mut ws, sid) = client_with_session(&app).await;
    turn(&mut ws, &sid, "first").await;
    crate::chat::wait_idle(&mut ws, &sid).await;
    let ids = message_ids(&mut ws, &sid).await;
    let gate = Gate::new();
    fake.push(Script::held(&["slow ", "reply"], 1, &gate));
    send_chat(&mut ws, &sid, "second").await;
    recv_until(&mut ws, "part.created").await;

    let revert = json!({"type": "session.revert", "sessionId": sid, "messageId": ids[0]});
    let e = refused(&mut ws, revert).await;
    assert_eq!(e["code"], "revert_error", "{e}");
    assert_eq!(e["sessionId"], sid.as_str());
    assert_eq!(e["message"], "Stop the running reply first");
    gate.open();
    recv_turn(&mut ws).await;
    crate::chat::wait_idle(&mut ws, &sid).await;
    let before = transcript(&mut ws, &sid).await;
    assert_eq!(before.len(), 4, "the reply ran to its end: {before:?}");

    let cases = [
        (
            sid.as_str(),
            "no-such-message",
            "revert_error",
            "Target message not found",
        ),
        (
            "no-such-session",
            ids[0].as_str(),
            "not_found",
            "Session not found",
        ),
    ];
    for (session, message, code, text) in cases {
        let msg = json!({"type": "session.revert", "sessionId": session, "messageId": message});
        let e = refused(&mut ws, msg).await;
        assert_eq!(
            (e["code"].as_str(), e["message"].as_str()),
            (Some(code), Some(text))
        );
        assert_eq!(e["sessionId"], session, "the error names the session");
    }
    assert_eq!(transcript(&mut ws, &sid).await, before, "nothing changed");
}
