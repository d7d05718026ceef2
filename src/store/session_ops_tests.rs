//! Unit tests of revert, edit and fork in the store: what goes, what stays, and that a
//! refused operation writes nothing.

use serde_json::{Map, Value, json};

use super::*;
use crate::store::fork::{FORK_STREAMING, ForkRequest};
use crate::store::messages::{Message, MessageUpdate};
use crate::store::testing::{self, store};
use crate::store::{MessageStatus, Scope};

fn obj(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => panic!("not an object"),
    }
}

/// A session with `user, assistant(text + tool), user, assistant`; the store, its id and the
/// message ids in order.
async fn transcript() -> (Store, tempfile::TempDir, String, Vec<String>) {
    let (store, dir) = store().await;
    let sid = testing::session(&store).await;
    let mut ids = Vec::new();
    for (i, role) in ["user", "assistant", "user", "assistant"]
        .iter()
        .enumerate()
    {
        let at = 1000 + i as i64 * 10;
        let mut m = if *role == "user" {
            Message::user(&sid, at)
        } else {
            Message::assistant(&sid, at, "m", "openai")
        };
        if let Some(a) = m.assistant.as_mut() {
            a.status = MessageStatus::Completed;
        }
        let m = store.create_message(&m).await.unwrap();
        let text = Part::new(
            &m,
            at,
            obj(json!({"type": "text", "text": format!("t{i}")})),
        );
        store.create_part(&text).await.unwrap();
        if i == 1 {
            let tool = json!({"type": "tool", "callId": "c1", "name": "ls",
                              "state": {"status": "completed", "input": {}, "output": "x"}});
            store
                .create_part(&Part::new(&m, at + 1, obj(tool)))
                .await
                .unwrap();
        }
        ids.push(m.id);
    }
    (store, dir, sid, ids)
}

async fn ids_of(store: &Store, sid: &str) -> Vec<String> {
    let page = store.newest_messages(sid, 100).await.unwrap();
    page.messages.into_iter().map(|m| m.message.id).collect()
}

#[tokio::test]
async fn a_revert_keeps_the_target_and_deletes_what_follows() {
    let (store, _d, sid, ids) = transcript().await;
    let r = store.revert_session(&sid, &ids[1], false).await.unwrap();
    assert_eq!(r.message_id.as_deref(), Some(ids[1].as_str()));
    assert_eq!(r.message_count, 1);
    assert_eq!(r.removed_ids, ids[2..].to_vec());
    assert_eq!(r.removed_parts, 2);
    assert_eq!(ids_of(&store, &sid).await, ids[..2].to_vec());
    let kept = store.message_with_parts(&ids[1]).await.unwrap();
    assert_eq!(kept.parts.len(), 2, "the target keeps its parts");
}

#[tokio::test]
async fn a_revert_to_the_first_message_clears_the_session_unless_kept() {
    let (store, _d, sid, ids) = transcript().await;
    let kept = store.revert_session(&sid, &ids[0], true).await.unwrap();
    assert_eq!(kept.message_id.as_deref(), Some(ids[0].as_str()));
    assert_eq!(ids_of(&store, &sid).await, ids[..1].to_vec());
    let cleared = store.revert_session(&sid, &ids[0], false).await.unwrap();
    assert_eq!((cleared.message_id, cleared.message_count), (None, 0));
    assert!(ids_of(&store, &sid).await.is_empty());
}

#[tokio::test]
async fn a_revert_to_an_unknown_message_changes_nothing() {
    let (store, _d, sid, ids) = transcript().await;
    let other = testing::session(&store).await;
    for (label, session, message) in [
        ("unknown id", sid.as_str(), "nope"),
        ("another session's message", other.as_str(), ids[1].as_str()),
    ] {
        let e = store.revert_session(session, message, false).await;
        assert!(
            matches!(e, Err(StoreError::NotFound(Entity::Message))),
            "{label}: {e:?}"
        );
    }
    assert_eq!(ids_of(&store, &sid).await, ids);
}

#[tokio::test]
async fn a_reply_left_streaming_before_the_target_ends_in_error() {
    let (store, _d, sid, _) = transcript().await;
    let streaming = Message::assistant(&sid, 2000, "m", "openai");
    let streaming = store.create_message(&streaming).await.unwrap();
    let user = store
        .create_message(&Message::user(&sid, 2010))
        .await
        .unwrap();
    store.revert_session(&sid, &user.id, false).await.unwrap();
    let m = store.get_message(&streaming.id).await.unwrap();
    let a = m.assistant.unwrap();
    assert_eq!(a.status, MessageStatus::Error);
    assert_eq!(a.error.as_deref(), Some(REVERTED_ERROR));
}

#[tokio::test]
async fn an_edit_replaces_the_first_text_and_deletes_what_follows() {
    let (store, _d, sid, ids) = transcript().await;
    let Edited::Done { part, reverted } =
        store.edit_user_message(&sid, &ids[2], "new").await.unwrap()
    else {
        panic!("edited")
    };
    assert_eq!(part.data["text"], "new");
    assert_eq!(reverted.removed_ids, vec![ids[3].clone()]);
    assert_eq!(ids_of(&store, &sid).await, ids[..3].to_vec());
    let stored = store.message_with_parts(&ids[2]).await.unwrap();
    assert_eq!(stored.parts[0].data["text"], "new");
}

#[tokio::test]
async fn an_edit_of_a_reply_or_a_textless_message_changes_nothing() {
    let (store, _d, sid, ids) = transcript().await;
    let e = store.edit_user_message(&sid, &ids[1], "x").await.unwrap();
    assert_eq!(e, Edited::NotUserMessage);
    let bare = store
        .create_message(&Message::user(&sid, 5000))
        .await
        .unwrap();
    let e = store.edit_user_message(&sid, &bare.id, "x").await.unwrap();
    assert_eq!(e, Edited::NoText);
    let mut all = ids.clone();
    all.push(bare.id);
    assert_eq!(ids_of(&store, &sid).await, all);
}

fn fork_at(sid: &str, message: &str, title: Option<&str>) -> ForkRequest {
    ForkRequest {
        source_id: sid.to_owned(),
        message_id: message.to_owned(),
        title: title.map(str::to_owned),
        now: "2026-02-01T00:00:00.000Z".into(),
    }
}

#[tokio::test]
async fn a_fork_copies_messages_and_parts_with_new_ids_and_is_independent() {
    let (store, _d, sid, ids) = transcript().await;
    let forked = store
        .fork_session(&Scope::All, fork_at(&sid, &ids[1], None))
        .await
        .unwrap();
    let s = &forked.session;
    assert_ne!(s.id, sid);
    assert_eq!(s.title, "New Session (fork)");
    assert_eq!(s.metadata, Some(json!({"forkedFrom": sid})));
    assert_eq!(s.auto_approve_severity.as_deref(), Some("low"));
    assert_eq!(forked.messages.len(), 2);
    let source = store.newest_messages(&sid, 100).await.unwrap().messages;
    for (copy, orig) in forked.messages.iter().zip(&source) {
        assert_ne!(copy.message.id, orig.message.id);
        assert_eq!(copy.message.created_at, orig.message.created_at);
        assert_eq!(copy.parts.len(), orig.parts.len());
        for (cp, op) in copy.parts.iter().zip(&orig.parts) {
            assert_ne!(cp.id, op.id);
            assert_eq!(cp.data, op.data, "content kept (tool parts too)");
        }
    }
    let stored = store.newest_messages(&s.id, 100).await.unwrap().messages;
    assert_eq!(
        stored, forked.messages,
        "what is returned is what is stored"
    );
    store
        .revert_session(&s.id, &stored[0].message.id, false)
        .await
        .unwrap();
    assert_eq!(ids_of(&store, &sid).await, ids, "the source is untouched");
}

#[tokio::test]
async fn a_fork_at_an_unknown_message_or_a_streaming_reply_writes_nothing() {
    let (store, _d, sid, _) = transcript().await;
    let before = store.running_session_ids().await.unwrap();
    let e = store
        .fork_session(&Scope::All, fork_at(&sid, "nope", Some("x")))
        .await;
    assert!(
        matches!(e, Err(StoreError::NotFound(Entity::Message))),
        "{e:?}"
    );
    let live = Message::assistant(&sid, 3000, "m", "openai");
    let live = store.create_message(&live).await.unwrap();
    let e = store
        .fork_session(&Scope::All, fork_at(&sid, &live.id, None))
        .await;
    assert!(
        matches!(&e, Err(StoreError::Conflict(m)) if m == FORK_STREAMING),
        "{e:?}"
    );
    let done = MessageUpdate {
        status: Some(MessageStatus::Completed),
        ..MessageUpdate::default()
    };
    store.update_message(&live.id, &done).await.unwrap();
    let e = store
        .fork_session(
            &Scope::Owner("someone".into()),
            fork_at(&sid, &live.id, None),
        )
        .await;
    assert!(
        matches!(e, Err(StoreError::NotFound(Entity::Session))),
        "{e:?}"
    );
    assert_eq!(store.running_session_ids().await.unwrap(), before);
    let count = store
        .read(|c| Ok(c.query_row("SELECT COUNT(*) FROM sessions", [], |r| r.get::<_, i64>(0))?))
        .await
        .unwrap();
    assert_eq!(count, 1, "no session was created");
}
