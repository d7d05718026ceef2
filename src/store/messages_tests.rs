//! Unit tests of the message store: sequences, JSON shapes, pages.

use serde_json::{Map, Value, json};

use super::*;
use crate::store::sessions::{NewSession, TokenTotals};
use crate::store::testing::store;
use crate::store::workspaces::NewWorkspace;
use crate::store::{Entity, Scope};

fn obj(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => panic!("not an object"),
    }
}

async fn session(store: &Store) -> String {
    let ws = NewWorkspace {
        id: "w".into(),
        name: "W".into(),
        path: "/tmp/w".into(),
        is_virtual: true,
        additional_paths: vec![],
        settings: Map::new(),
    };
    store
        .create_workspace(&Scope::All, ws, "2026-01-01T00:00:00.000Z")
        .await
        .unwrap();
    let s = store
        .create_session(
            &Scope::All,
            NewSession::new("w"),
            "2026-01-01T00:00:00.000Z",
        )
        .await
        .unwrap();
    s.id
}

#[tokio::test]
async fn sequences_are_allocated_per_session_from_one() {
    let (store, _d) = store().await;
    let s = session(&store).await;
    for want in 1..=3 {
        let m = store
            .create_message(&Message::user(&s, 1000 + want))
            .await
            .unwrap();
        assert_eq!(m.sequence, want);
    }
}

#[tokio::test]
async fn concurrent_creates_get_distinct_sequences() {
    let (store, _d) = store().await;
    let s = session(&store).await;
    let mut tasks = Vec::new();
    for i in 0..20 {
        let (store, s) = (store.clone(), s.clone());
        tasks.push(tokio::spawn(async move {
            store
                .create_message(&Message::user(&s, i))
                .await
                .unwrap()
                .sequence
        }));
    }
    let mut seqs = Vec::new();
    for t in tasks {
        seqs.push(t.await.unwrap());
    }
    seqs.sort();
    assert_eq!(seqs, (1..=20).collect::<Vec<_>>());
}

#[tokio::test]
async fn messages_and_parts_serialize_as_the_protocol_says() {
    let (store, _d) = store().await;
    let s = session(&store).await;
    let user = store
        .create_message(&Message::user(&s, 1795358225622))
        .await
        .unwrap();
    let json = serde_json::to_value(&user).unwrap();
    assert_eq!(
        json,
        json!({"id": user.id, "sessionId": s, "role": "user", "createdAt": 1795358225622i64})
    );
    let a = store
        .create_message(&Message::assistant(&s, 5, "m1", "openai"))
        .await
        .unwrap();
    let json = serde_json::to_value(&a).unwrap();
    assert_eq!(json["status"], "streaming");
    assert_eq!(json["modelId"], "m1");
    assert_eq!(json["providerId"], "openai");
    assert_eq!(json["tokens"]["prompt"], 0);
    assert_eq!(json["cost"], 0.0);
    assert!(json.get("completedAt").is_none() && json.get("sequence").is_none());

    let part = Part::new(&a, 6, obj(json!({"type": "text", "text": "Echo: "})));
    store.create_part(&part).await.unwrap();
    store
        .update_part_data(
            &part.id,
            &obj(json!({"type": "text", "text": "Echo: Hello"})),
        )
        .await
        .unwrap();
    let done = MessageUpdate {
        status: Some(MessageStatus::Completed),
        completed_at: Some(9),
        tokens: Some(MessageTokens {
            prompt: 3,
            completion: 4,
            ..Default::default()
        }),
        ..Default::default()
    };
    let a = store.update_message(&a.id, &done).await.unwrap();
    let mwp = store.message_with_parts(&a.id).await.unwrap();
    let json = serde_json::to_value(&mwp).unwrap();
    assert_eq!(json["message"]["status"], "completed");
    assert_eq!(json["message"]["completedAt"], 9);
    assert_eq!(json["message"]["tokens"]["completion"], 4);
    assert_eq!(
        json["parts"][0],
        json!({"id": part.id, "messageId": a.id, "createdAt": 6, "type": "text", "text": "Echo: Hello"})
    );
}

#[tokio::test]
async fn pages_are_ascending_and_know_whether_older_exist() {
    let (store, _d) = store().await;
    let s = session(&store).await;
    for i in 0..5 {
        let m = store.create_message(&Message::user(&s, i)).await.unwrap();
        // Parts inserted out of time order come back ordered by (createdAt, id).
        for t in [30, 10, 20] {
            let p = Part::new(&m, t, obj(json!({"type": "text", "text": t.to_string()})));
            store.create_part(&p).await.unwrap();
        }
    }
    let newest = store.newest_messages(&s, 2).await.unwrap();
    let seqs: Vec<i64> = newest.messages.iter().map(|m| m.message.sequence).collect();
    assert_eq!(seqs, vec![4, 5]);
    assert!(newest.has_older);
    assert_eq!(
        (newest.oldest_sequence, newest.newest_sequence),
        (Some(4), Some(5))
    );
    let times: Vec<i64> = newest.messages[0]
        .parts
        .iter()
        .map(|p| p.created_at)
        .collect();
    assert_eq!(times, vec![10, 20, 30]);
    let older = store.messages_before(&s, 4, 10).await.unwrap();
    let seqs: Vec<i64> = older.messages.iter().map(|m| m.message.sequence).collect();
    assert_eq!(seqs, vec![1, 2, 3]);
    assert!(!older.has_older);
}

#[tokio::test]
async fn running_state_and_the_last_usage_are_kept_on_the_session() {
    let (store, _d) = store().await;
    let s = session(&store).await;
    let run = store
        .set_running(
            &s,
            Some("2026-01-01T00:00:01.000Z"),
            "2026-01-01T00:00:01.000Z",
        )
        .await
        .unwrap();
    assert_eq!(run.running_at.as_deref(), Some("2026-01-01T00:00:01.000Z"));
    assert_eq!(store.running_session_ids().await.unwrap(), vec![s.clone()]);
    let t = TokenTotals {
        prompt: 10,
        completion: 5,
        cache_read: 1,
        ..Default::default()
    };
    store
        .set_session_tokens(&s, t, "2026-01-01T00:00:02.000Z")
        .await
        .unwrap();
    // The last step's usage replaces the session's figures (a sum would give 17, 25, 1).
    let last = TokenTotals {
        prompt: 7,
        completion: 3,
        cache_read: 0,
        ..Default::default()
    };
    let after = store
        .set_session_tokens(&s, last, "2026-01-01T00:00:02.000Z")
        .await
        .unwrap();
    assert_eq!(
        (
            after.prompt_tokens,
            after.total_tokens,
            after.cache_read_tokens
        ),
        (7, 10, 0)
    );
    let idle = store
        .set_running(&s, None, "2026-01-01T00:00:03.000Z")
        .await
        .unwrap();
    assert_eq!(idle.running_at, None);
    assert_eq!(idle.updated_at, "2026-01-01T00:00:03.000Z");
}

#[tokio::test]
async fn a_message_for_an_unknown_session_is_not_found() {
    let (store, _d) = store().await;
    let err = store
        .create_message(&Message::user("nope", 1))
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::NotFound(Entity::Session)),
        "{err:?}"
    );
}
