//! `session.compact` and automatic compaction (§11.5): the events in order, the summary and
//! the trigger stored, later turns sending only the summary and what follows it; a session too
//! short, a busy one and a failed summary; a long session on a model with a small window.

use serde_json::{Value, json};

use super::*;
use crate::chat::{app_for, client_with_session, recv_type, wait_idle};
use crate::fake_llm::{Gate, Script, summary_text};

/// A session renamed by hand (no title request interleaves) with two finished turns.
async fn two_turns(app: &TestApp) -> (WsClient, String) {
    let (mut ws, sid) = client_with_session(app).await;
    ws.send_json(&json!({"type": "session.rename", "sessionId": sid, "title": "Chat"}))
        .await;
    recv_type(&mut ws, "session.renamed").await;
    turn(&mut ws, &sid, "first question").await;
    turn(&mut ws, &sid, "second question").await;
    wait_idle(&mut ws, &sid).await;
    (ws, sid)
}

fn compact(sid: &str) -> Value {
    json!({"type": "session.compact", "sessionId": sid})
}

#[tokio::test]
async fn a_compaction_sends_its_events_in_order_and_later_turns_see_only_the_summary() {
    let fake = FakeLlm::start().await;
    let app = app_for(&fake).await;
    let (mut ws, sid) = two_turns(&app).await;
    ws.send_json(&compact(&sid)).await;
    let events = recv_until(&mut ws, "compaction.complete").await;
    assert_eq!(
        shape(&events),
        [
            "session.updated compacting",
            "message.created user",
            "part.created compaction",
            "message.created assistant",
            "part.created text",
            "session.updated idle",
            "compaction.complete",
        ],
        "{events:#?}"
    );
    let trigger = &events[1]["message"];
    assert_eq!(
        events[2]["part"],
        json!({"id": events[2]["part"]["id"],
        "messageId": trigger["id"], "createdAt": events[2]["part"]["createdAt"],
        "type": "compaction", "auto": false, "overflow": false})
    );
    let summary = &events[3]["message"];
    assert_eq!(summary["summary"], true);
    assert_eq!(summary["mode"], "compaction");
    assert_eq!(summary["status"], "completed");
    assert_eq!(summary["parentId"], trigger["id"]);
    assert_eq!(events[4]["part"]["text"], summary_text(1).as_str());
    let asked = fake.summary_requests()[0]["messages"][0]["content"].clone();
    let asked = asked.as_str().unwrap();
    assert!(
        asked.contains("first question") && asked.contains("second question"),
        "{asked}"
    );
    let tokens = &events[6]["tokensUsed"];
    assert!(tokens["prompt"].as_i64().unwrap() > 0, "{tokens}");
    assert_eq!(events[5]["session"]["promptTokens"], tokens["prompt"]);

    turn(&mut ws, &sid, "third question").await;
    assert_eq!(
        last_sent(&fake),
        [
            ("user".to_owned(), "What did we do so far?".to_owned()),
            ("assistant".to_owned(), summary_text(1)),
            ("user".to_owned(), "third question".to_owned()),
        ]
    );
    let stored = transcript(&mut ws, &sid).await;
    assert_eq!(
        stored.len(),
        8,
        "the history stays for the reader: {stored:?}"
    );
}

#[tokio::test]
async fn a_second_compaction_summarises_only_what_came_after_the_first() {
    let fake = FakeLlm::start().await;
    let app = app_for(&fake).await;
    let (mut ws, sid) = two_turns(&app).await;
    ws.send_json(&compact(&sid)).await;
    recv_type(&mut ws, "compaction.complete").await;
    turn(&mut ws, &sid, "third question").await;
    wait_idle(&mut ws, &sid).await;
    ws.send_json(&compact(&sid)).await;
    recv_type(&mut ws, "compaction.complete").await;
    let asked = fake.summary_requests()[1]["messages"][0]["content"].clone();
    let asked = asked.as_str().unwrap();
    assert!(
        asked.contains(&summary_text(1)),
        "the earlier summary: {asked}"
    );
    assert!(asked.contains("third question"), "{asked}");
    assert!(!asked.contains("first question"), "{asked}");
    turn(&mut ws, &sid, "fourth").await;
    let sent = last_sent(&fake);
    assert_eq!(sent[1], ("assistant".to_owned(), summary_text(2)));
    assert_eq!(sent.len(), 3, "{sent:?}");
}

#[tokio::test]
async fn a_compaction_is_refused_for_a_short_or_busy_session_and_changes_nothing() {
    let fake = FakeLlm::start().await;
    let app = app_for(&fake).await;
    let (mut ws, sid) = client_with_session(&app).await;
    ws.send_json(&compact(&sid)).await;
    let events = recv_until(&mut ws, "error").await;
    assert_eq!(
        shape(&events),
        [
            "session.updated compacting",
            "session.updated idle",
            "error"
        ]
    );
    let e = &events[2];
    assert_eq!(e["code"], "compaction_error");
    assert_eq!(
        e["message"],
        "Not enough messages for compaction (need at least a user and assistant turn)"
    );
    assert_eq!(e["sessionId"], sid.as_str());
    assert!(transcript(&mut ws, &sid).await.is_empty());

    turn(&mut ws, &sid, "hello").await;
    wait_idle(&mut ws, &sid).await;
    let gate = Gate::new();
    fake.push(Script::held(&["a", "b"], 1, &gate));
    send_chat(&mut ws, &sid, "running").await;
    recv_until(&mut ws, "part.created").await;
    let e = refused(&mut ws, compact(&sid)).await;
    assert_eq!(e["code"], "compaction_error", "{e}");
    assert_eq!(e["message"], "Stop the running reply first");
    assert_eq!(e["sessionId"], sid.as_str());
    gate.open();
    recv_turn(&mut ws).await;
    assert!(fake.summary_requests().is_empty());
    let e = refused(&mut ws, compact("no-such-session")).await;
    assert_eq!(
        (e["code"].as_str(), e["sessionId"].as_str()),
        (Some("not_found"), Some("no-such-session"))
    );
}

#[tokio::test]
async fn a_failed_summary_is_recorded_and_the_chat_goes_on_with_the_whole_history() {
    let fake = FakeLlm::start().await;
    let app = app_for(&fake).await;
    let (mut ws, sid) = two_turns(&app).await;
    fake.fail_summaries(400);
    ws.send_json(&compact(&sid)).await;
    let events = recv_until(&mut ws, "error").await;
    assert_eq!(
        shape(&events),
        [
            "session.updated compacting",
            "message.created user",
            "part.created compaction",
            "session.updated idle",
            "message.created assistant",
            "part.created text",
            "error",
        ]
    );
    let failed = &events[4]["message"];
    assert_eq!(failed["status"], "error");
    assert_eq!(failed["mode"], "compact_failed");
    assert_eq!(failed["parentId"], events[1]["message"]["id"]);
    assert!(
        events[5]["part"]["text"]
            .as_str()
            .unwrap()
            .starts_with("Compaction failed: ")
    );
    assert_eq!(events[6]["code"], "compaction_error");
    assert_eq!(events[6]["sessionId"], sid.as_str());

    turn(&mut ws, &sid, "third question").await;
    let sent = last_sent(&fake);
    let texts: Vec<&str> = sent.iter().map(|(_, t)| t.as_str()).collect();
    assert_eq!(
        texts,
        [
            "first question",
            "Hello there",
            "second question",
            "Hello there",
            "third question"
        ],
        "neither the trigger nor the failure reach the model"
    );
}

#[tokio::test]
async fn a_long_session_keeps_working_through_automatic_compaction() {
    let fake = FakeLlm::start().await;
    let app = app_for(&fake).await;
    // A model of 2000 tokens: more history than that is refused, as a real provider would.
    small_model(&app, 2000, 200);
    fake.set_context_window(2000);
    let (mut ws, sid) = client_with_session(&app).await;
    ws.send_json(&json!({"type": "session.rename", "sessionId": sid, "title": "Long"}))
        .await;
    recv_type(&mut ws, "session.renamed").await;
    let mut compactions = Vec::new();
    for n in 0..16 {
        let text = format!("question {n}: {}", "blah ".repeat(160));
        turn(&mut ws, &sid, &text).await;
        let after = settle(&mut ws, &sid).await;
        compactions.extend(
            after
                .into_iter()
                .filter(|e| e["part"]["type"] == "compaction"),
        );
    }
    assert!(
        compactions.len() >= 2,
        "compacted as it went: {compactions:#?}"
    );
    for c in &compactions {
        assert_eq!(c["part"]["auto"], true);
        assert_eq!(c["part"]["overflow"], false, "never ran into the window");
    }
    let history: usize = 16 * 800;
    assert!(history / 4 > 2000, "the conversation outgrew the window");
    let requests = fake.requests();
    let last = requests.last().unwrap();
    assert!(crate::fake_llm::estimate_tokens(last) <= 2000);
    let sent = last_sent(&fake);
    let n = fake.summary_requests().len();
    assert_eq!(
        sent[0],
        ("user".to_owned(), "What did we do so far?".to_owned())
    );
    assert_eq!(sent[1], ("assistant".to_owned(), summary_text(n)));
    assert!(sent.last().unwrap().1.starts_with("question 15:"));
    assert!(
        !sent.iter().any(|(_, t)| t.starts_with("question 0:")),
        "{sent:?}"
    );
}
