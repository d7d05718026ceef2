//! `session.edit_message` (§11.3): the text part updated, later messages deleted,
//! `session.state`, then a turn from §4.5 step 3 without a new user message; it does not drain
//! the queue. Refused while a reply runs, for replies and for unknown sessions.

use serde_json::json;

use super::*;
use crate::chat::{app_for, client_with_session, recv_type, wait_idle};
use crate::fake_llm::{Gate, Script};

/// A client with a session renamed by hand (so no title request interleaves).
async fn quiet_session(app: &TestApp) -> (WsClient, String) {
    let (mut ws, sid) = client_with_session(app).await;
    ws.send_json(&json!({"type": "session.rename", "sessionId": sid, "title": "Chat"}))
        .await;
    recv_type(&mut ws, "session.renamed").await;
    (ws, sid)
}

#[tokio::test]
async fn an_edit_replaces_the_text_drops_what_followed_and_runs_again_in_order() {
    let fake = FakeLlm::start().await;
    let app = app_for(&fake).await;
    let (mut ws, sid) = quiet_session(&app).await;
    turn(&mut ws, &sid, "first question").await;
    turn(&mut ws, &sid, "second question").await;
    wait_idle(&mut ws, &sid).await;
    let ids = message_ids(&mut ws, &sid).await;
    fake.push(Script::reply(&["Edited ", "answer"]));

    ws.send_json(&json!({"type": "session.edit_message", "sessionId": sid,
                         "messageId": ids[0], "content": "better question"}))
        .await;
    let events = recv_turn(&mut ws).await;
    let order: Vec<String> = shape(&events)
        .into_iter()
        .filter(|t| !t.starts_with("part.append") && t != "chat.usage")
        .collect();
    assert_eq!(
        order,
        [
            "part.updated text",
            "session.state",
            "session.updated running",
            "message.created assistant",
            "part.created step",
            "part.created text",
            "part.updated step",
            "message.updated",
            "session.updated idle",
        ],
        "{events:#?}"
    );
    assert_eq!(events[0]["part"]["text"], "better question");
    assert_eq!(events[0]["part"]["messageId"], ids[0].as_str());
    assert_eq!(
        texts_of(&events[1]["messages"]),
        [("user".to_owned(), "better question".to_owned())]
    );
    assert_eq!(
        last_sent(&fake),
        [("user".to_owned(), "better question".to_owned())],
        "the model gets the edited question and nothing that followed it"
    );
    wait_idle(&mut ws, &sid).await;
    let stored = transcript(&mut ws, &sid).await;
    assert_eq!(
        stored,
        [
            ("user".to_owned(), "better question".to_owned()),
            ("assistant".to_owned(), "Edited answer".to_owned()),
        ]
    );
}

#[tokio::test]
async fn a_turn_on_an_edited_message_leaves_the_queue_waiting() {
    let fake = FakeLlm::start().await;
    let app = app_for(&fake).await;
    let (mut ws, sid) = quiet_session(&app).await;
    turn(&mut ws, &sid, "question").await;
    wait_idle(&mut ws, &sid).await;
    let ids = message_ids(&mut ws, &sid).await;
    let gate = Gate::new();
    fake.push(Script::held(&["a", "b"], 1, &gate));
    ws.send_json(&json!({"type": "session.edit_message", "sessionId": sid,
                         "messageId": ids[0], "content": "edited"}))
        .await;
    recv_until(&mut ws, "part.created").await;
    ws.send_json(&json!({"type": "queue.add", "sessionId": sid, "content": "later"}))
        .await;
    recv_type(&mut ws, "queue.added").await;
    gate.open();
    recv_turn(&mut ws).await;
    let meanwhile = settle(&mut ws, &sid).await;
    assert!(
        !meanwhile.iter().any(|e| e["type"] == "queue.sending"),
        "{meanwhile:#?}"
    );
    ws.expect_nothing_before_barrier("no queued turn").await;
    ws.send_json(&json!({"type": "session.resume", "sessionId": sid}))
        .await;
    recv_type(&mut ws, "session.resumed").await;
    let queued = ws.expect("queue.list").await;
    assert_eq!(queued["messages"][0]["content"], "later");
}

#[tokio::test]
async fn an_edit_is_refused_while_a_reply_runs_and_for_replies() {
    let fake = FakeLlm::start().await;
    let app = app_for(&fake).await;
    let (mut ws, sid) = quiet_session(&app).await;
    turn(&mut ws, &sid, "question").await;
    wait_idle(&mut ws, &sid).await;
    let ids = message_ids(&mut ws, &sid).await;
    let edit = |session: &str, message: &str| {
        json!({"type": "session.edit_message", "sessionId": session,
               "messageId": message, "content": "x"})
    };
    let gate = Gate::new();
    fake.push(Script::held(&["a", "b"], 1, &gate));
    send_chat(&mut ws, &sid, "running").await;
    recv_until(&mut ws, "part.created").await;
    let e = refused(&mut ws, edit(&sid, &ids[0])).await;
    assert_eq!(e["code"], "session_busy", "{e}");
    assert_eq!(e["sessionId"], sid.as_str());
    gate.open();
    recv_turn(&mut ws).await;
    wait_idle(&mut ws, &sid).await;
    let before = transcript(&mut ws, &sid).await;

    let cases = [
        (
            sid.as_str(),
            ids[1].as_str(),
            "invalid_message",
            "Only user messages can be edited.",
        ),
        (
            sid.as_str(),
            "nope",
            "invalid_message",
            "Only user messages can be edited.",
        ),
        (
            "no-such-session",
            ids[0].as_str(),
            "not_found",
            "Session not found",
        ),
    ];
    for (session, message, code, text) in cases {
        let e = refused(&mut ws, edit(session, message)).await;
        assert_eq!(
            (e["code"].as_str(), e["message"].as_str()),
            (Some(code), Some(text))
        );
        assert_eq!(e["sessionId"], session);
    }
    assert_eq!(transcript(&mut ws, &sid).await, before, "nothing changed");
}
