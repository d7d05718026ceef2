//! Item 3: no `Retry-After` a provider sends can kill a turn, and a wait longer than jean2 makes
//! ends the turn at once with `error.rate_limit` saying when to retry.

use crate::chat::{client_with_session, find, recv_turn, send_chat, types, use_fake};
use crate::fake_llm::{FakeLlm, Script};
use crate::helpers::spawn_app_with;

#[tokio::test]
async fn a_huge_or_infinite_retry_after_ends_the_turn_at_once_with_when_to_retry() {
    for value in ["1e20", "inf", "120"] {
        let fake = FakeLlm::start().await;
        fake.push(Script::status(429, Some(value)));
        let app = spawn_app_with(|s| use_fake(s, &fake)).await;
        let (mut ws, sid) = client_with_session(&app).await;
        send_chat(&mut ws, &sid, "hello").await;
        let events = recv_turn(&mut ws).await;
        let err = find(&events, "error.rate_limit");
        assert_eq!(err["sessionId"], sid.as_str(), "{value}");
        let wait_ms = err["retryAfterMs"].as_u64().unwrap();
        assert!(wait_ms > 60_000, "{value}: {err}");
        let secs = (wait_ms / 1000).to_string();
        assert!(
            err["message"]
                .as_str()
                .unwrap()
                .contains(&format!("{secs} s")),
            "{value}: the message says when to retry: {err}"
        );
        assert!(
            !types(&events).iter().any(|t| t == "chat.retry"),
            "{value}: no retry is scheduled: {:?}",
            types(&events)
        );
        assert_eq!(fake.requests().len(), 1, "{value}: asked once");
        assert_eq!(
            find(&events, "message.updated")["message"]["status"],
            "error",
            "{value}"
        );
    }
}

#[tokio::test]
async fn a_retry_after_that_is_not_a_number_falls_back_to_the_usual_backoff() {
    let fake = FakeLlm::start().await;
    fake.push(Script::status(429, Some("nan")));
    fake.push(Script::reply(&["fine"]));
    let app = spawn_app_with(|s| use_fake(s, &fake)).await;
    let (mut ws, sid) = client_with_session(&app).await;
    send_chat(&mut ws, &sid, "hello").await;
    let events = recv_turn(&mut ws).await;
    assert_eq!(
        find(&events, "message.updated")["message"]["status"],
        "completed",
        "{:?}",
        types(&events)
    );
    assert_eq!(find(&events, "chat.retry")["status"], "scheduled");
}
