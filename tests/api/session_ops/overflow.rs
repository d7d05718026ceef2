//! Compaction without a request (§8.4, §11.5): a provider's context-overflow error compacts
//! the session and replays the last user message once; a second overflow is reported. And a
//! crash (kill -9 of the real binary) during a compaction leaves the session usable.

use serde_json::json;

use super::*;
use crate::chat::recovery::{connect, start};
use crate::chat::{app_for, client_with_session, recv_type, wait_idle};
use crate::fake_llm::{Gate, Script, summary_text};
use crate::helpers::wait_until;

async fn quiet_session(app: &TestApp) -> (WsClient, String) {
    let (mut ws, sid) = client_with_session(app).await;
    ws.send_json(&json!({"type": "session.rename", "sessionId": sid, "title": "Chat"}))
        .await;
    recv_type(&mut ws, "session.renamed").await;
    (ws, sid)
}

#[tokio::test]
async fn an_overflow_compacts_and_replays_the_last_message_once() {
    let fake = FakeLlm::start().await;
    let app = app_for(&fake).await;
    let (mut ws, sid) = quiet_session(&app).await;
    turn(&mut ws, &sid, "first question").await;
    wait_idle(&mut ws, &sid).await;
    fake.push(Script::overflow());
    send_chat(&mut ws, &sid, "second question").await;
    let mut events = recv_turn(&mut ws).await;
    events.extend(recv_until(&mut ws, "message.updated").await);
    events.extend(recv_turn(&mut ws).await);
    let order: Vec<String> = shape(&events)
        .into_iter()
        .filter(|t| !t.starts_with("part.") || t.contains("compaction") || t == "part.created text")
        .filter(|t| t != "chat.usage")
        .collect();
    assert_eq!(
        order,
        [
            "message.created user",
            "part.created text",
            "session.updated running",
            "message.created assistant",
            "message.updated",
            "session.updated idle",
            "session.updated compacting",
            "message.created user",
            "part.created compaction",
            "message.created assistant",
            "part.created text",
            "session.updated idle",
            "message.created user",
            "part.created text",
            "session.updated running",
            "message.created assistant",
            "part.created text",
            "message.updated",
            "session.updated idle",
        ],
        "{events:#?}"
    );
    let failed = events
        .iter()
        .find(|e| e["type"] == "message.updated")
        .unwrap();
    assert_eq!(failed["message"]["status"], "error");
    assert!(
        !events.iter().any(|e| e["type"] == "error"),
        "an overflow that compaction mends is no error"
    );
    let trigger = events
        .iter()
        .find(|e| e["part"]["type"] == "compaction")
        .unwrap();
    assert_eq!(
        (&trigger["part"]["auto"], &trigger["part"]["overflow"]),
        (&json!(true), &json!(true))
    );
    let replay = events.iter().rfind(|e| {
        e["part"]["type"] == "text"
            && e["part"]["text"]
                .as_str()
                .is_some_and(|t| t.starts_with("Replay"))
    });
    assert_eq!(replay.unwrap()["part"]["text"], "Replay: second question");
    assert_eq!(
        last_sent(&fake),
        [
            (
                "user".to_owned(),
                "Continue from where we left off, summarizing what we did so far.".to_owned()
            ),
            ("assistant".to_owned(), summary_text(1)),
            ("user".to_owned(), "Replay: second question".to_owned()),
        ]
    );
    assert_eq!(fake.requests().len(), 3, "one replay");
}

#[tokio::test]
async fn a_second_overflow_is_reported_to_the_sender() {
    let fake = FakeLlm::start().await;
    let app = app_for(&fake).await;
    let (mut ws, sid) = quiet_session(&app).await;
    turn(&mut ws, &sid, "first question").await;
    wait_idle(&mut ws, &sid).await;
    fake.push(Script::overflow());
    fake.push(Script::overflow());
    send_chat(&mut ws, &sid, "second question").await;
    let e = recv_type(&mut ws, "error").await;
    assert_eq!(e["code"], "context_overflow", "{e}");
    assert_eq!(e["sessionId"], sid.as_str());
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("maximum context length"),
        "{e}"
    );
    wait_idle(&mut ws, &sid).await;
    assert_eq!(
        fake.requests().len(),
        3,
        "the first try and one replay, no more"
    );
    assert_eq!(fake.summary_requests().len(), 1);
}

#[tokio::test]
async fn after_kill_9_during_a_compaction_the_session_is_usable_again() {
    let fake = FakeLlm::start().await;
    let gate = Gate::new();
    fake.hold_summaries(&gate);
    let dir = tempfile::tempdir().unwrap();
    let mut server = start(dir.path(), &fake).await;
    let http = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{}", server.port);
    assert!(
        http.get(format!("{base}/api/workspaces"))
            .send()
            .await
            .unwrap()
            .status()
            .is_success()
    );
    let mut ws = connect(server.port).await;
    ws.send_json(&json!({"type": "session.create", "preconfigId": "general", "title": "Chat"}))
        .await;
    let sid = recv_type(&mut ws, "session.created").await["session"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    resume(&mut ws, &sid).await;
    turn(&mut ws, &sid, "first question").await;
    turn(&mut ws, &sid, "second question").await;
    ws.send_json(&json!({"type": "session.compact", "sessionId": sid}))
        .await;
    recv_until(&mut ws, "part.created").await;
    wait_until("the summary is asked for", async || {
        fake.summary_requests().len() == 1
    })
    .await;

    server.child.kill().unwrap(); // SIGKILL
    server.child.wait().unwrap();
    drop(ws);
    let _server = {
        let server = start(dir.path(), &fake).await;
        let mut ws = connect(server.port).await;
        let resumed = resume(&mut ws, &sid).await;
        assert_eq!(resumed["session"]["compacting"], false);
        assert_eq!(resumed["isRunning"], false);
        let last = resumed["messages"]
            .as_array()
            .unwrap()
            .last()
            .unwrap()
            .clone();
        assert_eq!(last["message"]["mode"], "compact_failed", "{last}");
        assert_eq!(last["message"]["status"], "error");
        assert!(
            last["message"]["error"]
                .as_str()
                .unwrap()
                .contains("interrupted"),
            "{last}"
        );

        turn(&mut ws, &sid, "third question").await;
        let texts: Vec<String> = last_sent(&fake).into_iter().map(|(_, t)| t).collect();
        assert_eq!(
            texts,
            [
                "first question",
                "Hello there",
                "second question",
                "Hello there",
                "third question"
            ]
        );
        ws.send_json(&json!({"type": "session.compact", "sessionId": sid}))
            .await;
        gate.open();
        recv_type(&mut ws, "compaction.complete").await;
        server
    };
}
