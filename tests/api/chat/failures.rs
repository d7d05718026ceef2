//! Provider failures during a turn: retries announced with `chat.retry`, the error event of
//! each class, the assistant message ending `error` with the text received kept. Also what
//! fails around a turn: the pre-checks that refuse it, and a failed title.

use std::time::Duration;

use super::*;
use crate::fake_llm::Script;
use crate::helpers::spawn_app_with;

struct Case {
    label: &'static str,
    scripts: Vec<Script>,
    /// The `type` and `code` of the error event sent to the sender.
    event: &'static str,
    code: &'static str,
    /// The `chat.retry` statuses seen, in order.
    retries: Vec<&'static str>,
    /// Text streamed before the failure (kept in the message).
    text: &'static str,
}

/// One case per way a provider can fail during a turn.
fn failure_cases() -> [Case; 6] {
    [
        Case {
            label: "401 is an auth error, not retried",
            scripts: vec![Script::status(401, None)],
            event: "error",
            code: "auth_error",
            retries: vec![],
            text: "",
        },
        Case {
            label: "429 until retries run out",
            scripts: vec![Script::status(429, Some("0.05")); 3],
            event: "error.rate_limit",
            code: "rate_limit",
            retries: vec!["scheduled", "started", "scheduled", "started", "exhausted"],
            text: "",
        },
        Case {
            label: "500 until retries run out",
            scripts: vec![Script::status(500, None); 3],
            event: "error.server",
            code: "server_error",
            retries: vec!["scheduled", "started", "scheduled", "started", "exhausted"],
            text: "",
        },
        Case {
            label: "stalled stream times out",
            scripts: vec![Script::Stall {
                content: vec!["partial".into()],
            }],
            event: "error.timeout",
            code: "timeout",
            retries: vec![],
            text: "partial",
        },
        Case {
            label: "malformed chunk",
            scripts: vec![Script::Malformed {
                content: vec!["good ".into(), "text".into()],
            }],
            event: "error",
            code: "invalid_response",
            retries: vec![],
            text: "good text",
        },
        Case {
            label: "early disconnect",
            scripts: vec![Script::Disconnect {
                content: vec!["cut ".into(), "off".into()],
            }],
            event: "error",
            code: "network_error",
            retries: vec![],
            text: "cut off",
        },
    ]
}

#[tokio::test]
async fn provider_failures_end_the_reply_in_error_keeping_what_arrived() {
    for case in failure_cases() {
        let fake = FakeLlm::start().await;
        let stalls = matches!(case.scripts[0], Script::Stall { .. });
        for s in case.scripts {
            fake.push(s);
        }
        let app = spawn_app_with(|s| {
            use_fake(s, &fake);
            if stalls {
                s.llm.idle_timeout = Duration::from_millis(700);
            }
        })
        .await;
        let (mut ws, sid) = client_with_session(&app).await;
        send_chat(&mut ws, &sid, "hello").await;
        let events = recv_turn(&mut ws).await;
        // The error event goes to the sender right after message.updated.
        let label = case.label;
        let updated_at = events
            .iter()
            .position(|e| e["type"] == "message.updated")
            .unwrap_or_else(|| panic!("{label}: no message.updated in {:?}", types(&events)));
        let err = &events[updated_at + 1];
        assert_eq!(err["type"], case.event, "{label}: {err}");
        assert_eq!(err["code"], case.code, "{label}: {err}");
        assert_eq!(err["sessionId"], sid.as_str(), "{label}");
        if case.event == "error.rate_limit" {
            assert_eq!(err["retryAfterMs"], 50, "{label}");
        }
        let message = &events[updated_at]["message"];
        assert_eq!(message["status"], "error", "{label}");
        assert_eq!(message["error"], err["message"], "{label}");
        let retries: Vec<_> = events
            .iter()
            .filter(|e| e["type"] == "chat.retry")
            .map(|e| e["status"].as_str().unwrap())
            .collect();
        assert_eq!(retries, case.retries, "{label}");
        if let Some(r) = events.iter().find(|e| e["type"] == "chat.retry") {
            assert_eq!(r["maxRetries"], 2, "{label}");
            assert_eq!(r["retryNumber"], 1, "{label}");
            assert!(r["delayMs"].is_u64(), "{label}");
        }
        assert_eq!(streamed_text(&events, "text"), case.text, "{label}");
        assert!(
            events.last().unwrap()["session"]["runningAt"].is_null(),
            "{label}: runningAt cleared"
        );
        let resumed = resume(&mut ws, &sid).await;
        let reply = &resumed["messages"][1];
        assert_eq!(reply["message"]["status"], "error", "{label}");
        let saved: String = reply["parts"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["type"] == "text")
            .map(|p| p["text"].as_str().unwrap())
            .collect();
        assert_eq!(saved, case.text, "{label}: text kept in the store");
        assert_eq!(resumed["isRunning"], false, "{label}");
        ws.expect_nothing_before_barrier(label).await;
        // No title after a failed reply.
        assert_next_turn_asks_the_first_title(&mut ws, &fake, &sid, label).await;
    }
}

#[tokio::test]
async fn a_429_then_success_is_announced_and_the_reply_completes() {
    let fake = FakeLlm::start().await;
    fake.push(Script::status(429, Some("0")));
    fake.push(Script::reply(&["made ", "it"]));
    let app = app_for(&fake).await;
    let (mut ws, sid) = client_with_session(&app).await;
    send_chat(&mut ws, &sid, "hello").await;
    let events = recv_turn(&mut ws).await;
    let retries: Vec<_> = events
        .iter()
        .filter(|e| e["type"] == "chat.retry")
        .map(|e| {
            (
                e["status"].as_str().unwrap(),
                e["errorType"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        retries,
        [("scheduled", "rate_limit"), ("started", "rate_limit")]
    );
    assert_eq!(find(&events, "chat.retry")["sessionId"], sid.as_str());
    assert_eq!(
        find(&events, "message.updated")["message"]["status"],
        "completed"
    );
    assert_eq!(streamed_text(&events, "text"), "made it");
}

#[tokio::test]
async fn pre_check_failures_answer_the_sender_once_without_a_session_id() {
    let fake = FakeLlm::start().await;
    let app = app_for(&fake).await;
    let (mut ws, sid) = client_with_session(&app).await;

    send_chat(&mut ws, "no-such-session", "hi").await;
    let e = ws.recv_json().await;
    assert_eq!(
        (e["type"].clone(), e["code"].clone()),
        (json!("error"), json!("not_found")),
        "{e}"
    );
    assert!(e.get("sessionId").is_none());

    ws.send_json(&json!({"type": "session.update_model", "sessionId": sid, "modelId": "deepseek-chat", "providerId": "deepseek"})).await;
    recv_type(&mut ws, "session.updated").await;
    send_chat(&mut ws, &sid, "hi").await;
    let e = ws.recv_json().await;
    assert_eq!(e["code"], "no_api_key", "{e}");
    assert_eq!(
        e["message"],
        "No API key configured for provider: deepseek. Set JEAN2_LLM_DEEPSEEK_API_KEY"
    );
    assert!(e.get("sessionId").is_none());

    ws.send_json(&json!({"type": "session.update_model", "sessionId": sid, "modelId": "m", "providerId": "nope"})).await;
    recv_type(&mut ws, "session.updated").await;
    send_chat(&mut ws, &sid, "hi").await;
    let e = ws.recv_json().await;
    assert_eq!(e["code"], "unknown_provider", "{e}");
    assert_eq!(e["message"], "Unknown provider: nope");

    ws.send_json(&json!({"type": "session.create", "preconfigId": "no-such-preconfig"}))
        .await;
    let other = recv_type(&mut ws, "session.created").await["session"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    send_chat(&mut ws, &other, "hi").await;
    let e = ws.recv_json().await;
    assert_eq!(e["code"], "no_preconfig", "{e}");

    ws.send_json(&json!({"type": "session.close", "sessionId": sid}))
        .await;
    recv_type(&mut ws, "session.closed").await;
    send_chat(&mut ws, &sid, "hi").await;
    let e = ws.recv_json().await;
    assert_eq!(e["code"], "session_closed", "{e}");
    assert!(e.get("sessionId").is_none());

    ws.expect_nothing_before_barrier("one error each").await;
    assert!(fake.requests().is_empty(), "nothing reached the provider");
}

#[tokio::test]
async fn a_failed_title_is_reported_and_leaves_the_chat_alone() {
    let fake = FakeLlm::start().await;
    fake.fail_titles(500);
    let app = app_for(&fake).await;
    let (mut ws, sid) = client_with_session(&app).await;
    send_chat(&mut ws, &sid, "hello").await;
    let events = recv_turn(&mut ws).await;
    assert_eq!(
        find(&events, "message.updated")["message"]["status"],
        "completed"
    );
    let e = recv_type(&mut ws, "error").await;
    assert_eq!(e["code"], "title_generation_error");
    assert_eq!(e["sessionId"], sid.as_str());
    // The next turn still works and the title is tried again.
    fake.push(Script::reply(&["again"]));
    send_chat(&mut ws, &sid, "more").await;
    let events = recv_turn(&mut ws).await;
    assert_eq!(streamed_text(&events, "text"), "again");
}
