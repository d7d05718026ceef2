use serde_json::{Map, Value, json};

use super::*;
use crate::store::testing::{session, store};
use crate::store::{Message, Part, Scope};

fn text(t: &str) -> Map<String, Value> {
    match json!({"type": "text", "text": t}) {
        Value::Object(m) => m,
        _ => unreachable!(),
    }
}

/// An assistant message with these text parts, and a user message; their ids.
async fn messages(s: &Store, sid: &str, texts: &[&str]) -> (String, String) {
    let user = s.create_message(&Message::user(sid, 1)).await.unwrap();
    let reply = s
        .create_message(&Message::assistant(sid, 2, "m", "p"))
        .await
        .unwrap();
    for (n, t) in texts.iter().enumerate() {
        s.create_part(&Part::new(&reply, 10 + n as i64, text(t)))
            .await
            .unwrap();
    }
    (user.id, reply.id)
}

async fn workspace_of(s: &Store, sid: &str) -> String {
    s.get_session(&Scope::All, sid).await.unwrap().workspace_id
}

#[tokio::test]
async fn pinning_is_idempotent_listed_newest_first_and_unpinned_by_message_id() {
    let (s, _dir) = store().await;
    let sid = session(&s).await;
    let wid = workspace_of(&s, &sid).await;
    let (_, a) = messages(&s, &sid, &["First  answer,", "\nwith\ttwo parts"]).await;
    let (_, b) = messages(&s, &sid, &[]).await;

    let pin = s.pin_message(&wid, &sid, &a, 100).await.unwrap().unwrap();
    assert_eq!(pin.preview, "First answer, with two parts");
    assert_eq!(pin.session_title.as_deref(), Some("New Session"));
    assert_eq!((pin.created_at, pin.message_created_at), (100, 2));
    let again = s.pin_message(&wid, &sid, &a, 200).await.unwrap().unwrap();
    assert_eq!(again, pin, "the same pin, not a second one");

    let other = s.pin_message(&wid, &sid, &b, 300).await.unwrap().unwrap();
    assert_eq!(other.preview, "Assistant message", "no text");
    let listed: Vec<String> = s
        .pinned_messages(&wid)
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.message_id)
        .collect();
    assert_eq!(listed, [b.clone(), a.clone()]);

    assert!(s.unpin_message(&wid, &a).await.unwrap());
    assert!(!s.unpin_message(&wid, &a).await.unwrap(), "already gone");
    assert_eq!(s.pinned_messages(&wid).await.unwrap().len(), 1);
    s.delete_session(&Scope::All, &sid).await.unwrap();
    assert!(s.pinned_messages(&wid).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_pin_request_is_checked_in_upstreams_order() {
    let (s, _dir) = store().await;
    let sid = session(&s).await;
    let wid = workspace_of(&s, &sid).await;
    let other_sid = session(&s).await;
    let other_wid = workspace_of(&s, &other_sid).await;
    let (user, reply) = messages(&s, &sid, &["x"]).await;
    let (_, other_reply) = messages(&s, &other_sid, &["y"]).await;
    let cases = [
        (
            "nope",
            sid.as_str(),
            reply.as_str(),
            PinRefusal::WorkspaceNotFound,
        ),
        (
            wid.as_str(),
            "nope",
            reply.as_str(),
            PinRefusal::SessionNotFound,
        ),
        (
            other_wid.as_str(),
            sid.as_str(),
            reply.as_str(),
            PinRefusal::SessionWorkspaceMismatch,
        ),
        (
            wid.as_str(),
            sid.as_str(),
            "nope",
            PinRefusal::MessageNotFound,
        ),
        (
            wid.as_str(),
            sid.as_str(),
            other_reply.as_str(),
            PinRefusal::MessageSessionMismatch,
        ),
        (
            wid.as_str(),
            sid.as_str(),
            user.as_str(),
            PinRefusal::NotAssistant,
        ),
    ];
    for (w, sess, m, want) in cases {
        let got = s.pin_message(w, sess, m, 1).await.unwrap();
        assert_eq!(got, Err(want), "{want:?}");
    }
}

#[test]
fn a_long_preview_is_cut_to_240_characters() {
    let long = "é".repeat(300);
    let p = preview(&long);
    assert_eq!(p.chars().count(), 240);
    assert!(p.ends_with("..."));
    assert_eq!(preview(&"a".repeat(240)), "a".repeat(240));
}
