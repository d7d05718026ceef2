//! Unit tests of compaction in the store: the boundary, what the next compaction summarises,
//! the outcome written at once, and recovery of a compaction cut off by a crash.

use serde_json::{Map, Value, json};

use super::*;
use crate::store::MessageStatus;
use crate::store::testing::{self, store};

fn obj(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => panic!("not an object"),
    }
}

async fn say(store: &Store, sid: &str, user: bool, text: &str) -> Message {
    let at = crate::time::now_ms();
    let m = if user {
        Message::user(sid, at)
    } else {
        let mut m = Message::assistant(sid, at, "m", "openai");
        if let Some(a) = m.assistant.as_mut() {
            a.status = MessageStatus::Completed;
        }
        m
    };
    let m = store.create_message(&m).await.unwrap();
    let part = Part::new(&m, at, obj(json!({"type": "text", "text": text})));
    store.create_part(&part).await.unwrap();
    m
}

async fn trigger(store: &Store, sid: &str) -> Message {
    let m = Message::user(sid, crate::time::now_ms());
    let part = Part::new(
        &m,
        m.created_at,
        obj(json!({"type": "compaction", "auto": false})),
    );
    store.create_message_with_parts(&m, &[part]).await.unwrap()
}

fn summary_of(trigger: &Message, text: &str) -> (Message, Part) {
    let mut m = Message::assistant(&trigger.session_id, trigger.created_at + 1, "m", "openai");
    if let Some(a) = m.assistant.as_mut() {
        a.status = MessageStatus::Completed;
        a.summary = true;
        a.mode = Some("compaction".into());
        a.parent_id = Some(trigger.id.clone());
    }
    let part = Part::new(&m, m.created_at, obj(json!({"type": "text", "text": text})));
    (m, part)
}

fn texts(list: &[MessageWithParts]) -> Vec<String> {
    list.iter()
        .map(|m| crate::store::parts::texts_of(&m.parts))
        .collect()
}

#[tokio::test]
async fn after_a_summary_the_context_starts_at_its_trigger() {
    let (store, _d) = store().await;
    let sid = testing::session(&store).await;
    say(&store, &sid, true, "old question").await;
    say(&store, &sid, false, "old answer").await;
    let src = store.compaction_source(&sid, 100).await.unwrap();
    assert_eq!((src.previous_summary, src.messages.len()), (None, 2));

    let t = trigger(&store, &sid).await;
    assert_eq!(
        store.context_messages(&sid, 100).await.unwrap().len(),
        3,
        "a trigger without a summary is no boundary"
    );
    let (summary, text) = summary_of(&t, "the gist");
    let on = store
        .set_compacting(&sid, true, "2026-01-01T00:00:00.000Z")
        .await
        .unwrap();
    assert!(on.compacting);
    let done = CompactionDone {
        summary,
        text,
        pruned: vec![],
        compacted_at: 5,
        tokens: TokenTotals {
            prompt: 100,
            completion: 20,
            ..TokenTotals::default()
        },
        now: "2026-01-01T00:00:01.000Z".into(),
    };
    let s = store.finish_compaction(done).await.unwrap();
    assert!(!s.compacting);
    assert_eq!(
        (s.prompt_tokens, s.completion_tokens, s.total_tokens),
        (100, 20, 120)
    );
    say(&store, &sid, true, "new question").await;

    let context = store.context_messages(&sid, 100).await.unwrap();
    assert_eq!(texts(&context), ["", "the gist", "new question"]);
    assert_eq!(context[0].message.id, t.id);
    let src = store.compaction_source(&sid, 100).await.unwrap();
    assert_eq!(src.previous_summary.as_deref(), Some("the gist"));
    assert_eq!(texts(&src.messages), ["new question"]);
}

#[tokio::test]
async fn pruned_tool_outputs_get_compacted_at_and_keep_their_output() {
    let (store, _d) = store().await;
    let sid = testing::session(&store).await;
    let reply = say(&store, &sid, false, "ran it").await;
    let tool = json!({"type": "tool", "callId": "c", "name": "ls",
                      "state": {"status": "completed", "input": {}, "output": "big"}});
    let tool = Part::new(&reply, reply.created_at + 1, obj(tool));
    store.create_part(&tool).await.unwrap();
    let t = trigger(&store, &sid).await;
    let (summary, text) = summary_of(&t, "s");
    let done = CompactionDone {
        summary,
        text,
        pruned: vec![tool.id.clone()],
        compacted_at: 77,
        tokens: TokenTotals::default(),
        now: "2026-01-01T00:00:01.000Z".into(),
    };
    store.finish_compaction(done).await.unwrap();
    let stored = store.message_with_parts(&reply.id).await.unwrap();
    let state = &stored.parts[1].data["state"];
    assert_eq!(state["compactedAt"], 77);
    assert_eq!(state["output"], "big");
}

#[tokio::test]
async fn recovery_ends_an_open_trigger_and_clears_the_flag() {
    let (store, _d) = store().await;
    let sid = testing::session(&store).await;
    let idle = testing::session(&store).await;
    say(&store, &sid, true, "q").await;
    let open = trigger(&store, &sid).await;
    store
        .set_compacting(&sid, true, "2026-01-01T00:00:00.000Z")
        .await
        .unwrap();

    let recovered = store
        .recover_compactions(
            |sid, trigger| {
                let mut m = Message::assistant(sid, 1, "", "");
                if let Some(a) = m.assistant.as_mut() {
                    a.status = MessageStatus::Error;
                    a.mode = Some("compact_failed".into());
                    a.parent_id = Some(trigger.to_owned());
                }
                (m, vec![])
            },
            "2026-01-01T00:00:02.000Z",
        )
        .await
        .unwrap();
    assert_eq!(recovered, 1, "only the session left compacting");
    let s = store
        .get_session(&crate::store::Scope::All, &sid)
        .await
        .unwrap();
    assert!(!s.compacting);
    let last = store.newest_messages(&sid, 1).await.unwrap().messages;
    let a = last[0].message.assistant.clone().unwrap();
    assert_eq!(a.parent_id.as_deref(), Some(open.id.as_str()));
    assert_eq!(
        store
            .newest_messages(&idle, 10)
            .await
            .unwrap()
            .messages
            .len(),
        0
    );
}
