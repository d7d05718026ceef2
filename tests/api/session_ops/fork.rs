//! `session.fork` (§11.1): a new session with the messages up to the target, parts and tool
//! parts copied under new ids, `session.forked` to the source's participants; the fork and the
//! source go separate ways; an unknown target creates nothing.

use serde_json::{Value, json};

use super::*;
use crate::agent::agent_session;
use crate::chat::{client_with_session, recv_type};
use crate::fake_llm::Script;

fn parts(m: &Value) -> &Vec<Value> {
    m["parts"].as_array().unwrap()
}

#[tokio::test]
async fn a_fork_copies_messages_and_tool_parts_up_to_the_target_with_new_ids() {
    let fake = FakeLlm::start().await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("notes.txt"), "a note").unwrap();
    fake.push(Script::tools(&["Looking."], &[("call_1", "ls", json!({}))]));
    fake.push(Script::reply(&["There is a note."]));
    let (_app, mut ws, sid, wid) = agent_session(&fake, dir.path()).await;
    turn(&mut ws, &sid, "what is here?").await;
    turn(&mut ws, &sid, "and then?").await;
    crate::chat::wait_idle(&mut ws, &sid).await;
    let source = resume(&mut ws, &sid).await;
    let source_messages = source["messages"].as_array().unwrap().clone();
    let target = source_messages[1]["message"]["id"].as_str().unwrap();

    ws.send_json(
        &json!({"type": "session.fork", "sessionId": sid, "messageId": target,
                         "title": "Branch"}),
    )
    .await;
    let forked = recv_type(&mut ws, "session.forked").await;
    assert_eq!(forked["originalSessionId"], sid.as_str());
    let fork = &forked["forkedSession"];
    let fid = fork["id"].as_str().unwrap().to_owned();
    assert_ne!(fid, sid);
    assert_eq!(fork["title"], "Branch");
    assert_eq!(fork["workspaceId"], wid.as_str());
    assert_eq!(fork["preconfigId"], "code");
    assert_eq!(fork["metadata"]["forkedFrom"], sid.as_str());
    assert_eq!(fork["parentId"], Value::Null);
    let copied = forked["messages"].as_array().unwrap();
    assert_eq!(copied.len(), 2, "up to and including the target");
    for (copy, orig) in copied.iter().zip(&source_messages) {
        assert_ne!(copy["message"]["id"], orig["message"]["id"]);
        assert_eq!(copy["message"]["sessionId"], fid.as_str());
        assert_eq!(copy["message"]["createdAt"], orig["message"]["createdAt"]);
        assert_eq!(parts(copy).len(), parts(orig).len());
        for (cp, op) in parts(copy).iter().zip(parts(orig)) {
            assert_ne!(cp["id"], op["id"]);
            assert_eq!(cp["messageId"], copy["message"]["id"]);
            let strip = |p: &Value| {
                let mut p = p.clone();
                for k in ["id", "messageId"] {
                    p.as_object_mut().unwrap().remove(k);
                }
                p
            };
            assert_eq!(strip(cp), strip(op), "the content is kept");
        }
    }
    let tool = parts(&copied[1])
        .iter()
        .find(|p| p["type"] == "tool")
        .unwrap();
    assert_eq!(tool["callId"], "call_1");
    assert_eq!(tool["state"]["status"], "completed");

    // Stored as sent, and independent: a turn in the fork leaves the source as it was.
    let resumed = resume(&mut ws, &fid).await;
    assert_eq!(&resumed["messages"], &forked["messages"]);
    turn(&mut ws, &fid, "fork only").await;
    let sent = last_sent(&fake);
    assert_eq!(sent[0], ("user".to_owned(), "what is here?".to_owned()));
    assert!(
        !sent.iter().any(|(_, t)| t.contains("and then?")),
        "{sent:?}"
    );
    let again = resume(&mut ws, &sid).await;
    assert_eq!(again["messages"].as_array().unwrap(), &source_messages);
}

#[tokio::test]
async fn a_fork_without_title_is_named_after_its_source() {
    let fake = FakeLlm::start().await;
    let app = crate::chat::app_for(&fake).await;
    let (mut ws, sid) = client_with_session(&app).await;
    ws.send_json(&json!({"type": "session.rename", "sessionId": sid, "title": "Trip"}))
        .await;
    recv_type(&mut ws, "session.renamed").await;
    turn(&mut ws, &sid, "plan a trip").await;
    let ids = message_ids(&mut ws, &sid).await;
    ws.send_json(&json!({"type": "session.fork", "sessionId": sid, "messageId": ids[0]}))
        .await;
    let forked = recv_type(&mut ws, "session.forked").await;
    assert_eq!(forked["forkedSession"]["title"], "Trip (fork)");
    assert_eq!(texts_of(&forked["messages"]).len(), 1);
}

#[tokio::test]
async fn a_fork_at_an_unknown_message_creates_nothing() {
    let fake = FakeLlm::start().await;
    let app = crate::chat::app_for(&fake).await;
    let (mut ws, sid) = client_with_session(&app).await;
    turn(&mut ws, &sid, "hello").await;
    let ids = message_ids(&mut ws, &sid).await;
    let count = || async {
        let list: Value = app.get("/api/sessions").await.json().await.unwrap();
        list["sessions"].as_array().unwrap().len()
    };
    let before = count().await;
    let cases = [
        (
            sid.as_str(),
            "no-such-message",
            "fork_error",
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
        let msg = json!({"type": "session.fork", "sessionId": session, "messageId": message});
        let e = refused(&mut ws, msg).await;
        assert_eq!(
            (e["code"].as_str(), e["message"].as_str()),
            (Some(code), Some(text))
        );
        assert_eq!(e["sessionId"], session);
    }
    assert_eq!(count().await, before, "no session was created");
    assert_eq!(message_ids(&mut ws, &sid).await, ids);
}
