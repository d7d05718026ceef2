//! The LLM client against the fake provider: deltas, retries, and each failure class.

use std::time::Duration;

use jean2::config::{LlmSettings, Secret};
use jean2::llm::{
    ChatMessage, ChatRequest, Delta, LlmClient, LlmError, LlmErrorKind, RetryPhase, Usage,
};

use crate::fake_llm::{FakeLlm, Script};

fn client(max_retries: u32, idle_ms: u64) -> LlmClient {
    let cfg = LlmSettings {
        max_retries,
        idle_timeout: Duration::from_millis(idle_ms),
        retry_base_delay: Duration::from_millis(20),
        ..LlmSettings::default()
    };
    LlmClient::new(&cfg).unwrap()
}

fn request(fake: &FakeLlm) -> ChatRequest {
    let mut req = ChatRequest::new(&fake.base_url(), Some(Secret::new("sk-test")), "fake-model");
    req.messages = vec![
        ChatMessage::new("system", "Be brief."),
        ChatMessage::new("user", "Hi"),
    ];
    req.temperature = Some(0.5);
    req.max_tokens = Some(64);
    req
}

/// Every delta until the end, or the error with what came before it.
async fn collect(
    c: &LlmClient,
    req: &ChatRequest,
) -> (Vec<Delta>, Option<LlmError>, Vec<RetryPhase>) {
    let mut phases = Vec::new();
    let mut out = Vec::new();
    let mut stream = match c.stream(req, |n| phases.push(n.phase)).await {
        Ok(s) => s,
        Err(e) => return (out, Some(e), phases),
    };
    loop {
        match stream.next().await {
            Ok(Some(d)) => out.push(d),
            Ok(None) => return (out, None, phases),
            Err(e) => return (out, Some(e), phases),
        }
    }
}

#[tokio::test]
async fn a_reply_streams_reasoning_content_finish_and_usage() {
    let fake = FakeLlm::start().await;
    fake.push(Script::Reply {
        reasoning: vec!["Let me think".into()],
        content: vec!["Hel".into(), "lo".into()],
        usage: (12, 2, 5),
        delay: Duration::ZERO,
    });
    let (deltas, err, phases) = collect(&client(2, 2000), &request(&fake)).await;
    assert!(err.is_none(), "{err:?}");
    assert!(phases.is_empty());
    assert_eq!(
        deltas,
        vec![
            Delta::Reasoning("Let me think".into()),
            Delta::Content("Hel".into()),
            Delta::Content("lo".into()),
            Delta::Finish("stop".into()),
            Delta::Usage(Usage {
                prompt_tokens: 12,
                completion_tokens: 2,
                cached_tokens: 5
            }),
        ]
    );
    let body = &fake.requests()[0];
    assert_eq!(body["stream"], true);
    assert_eq!(body["stream_options"]["include_usage"], true);
    assert_eq!(body["model"], "fake-model");
    assert_eq!(body["temperature"], 0.5);
    assert_eq!(body["max_tokens"], 64);
    assert_eq!(body["messages"][1]["content"], "Hi");
}

#[tokio::test]
async fn a_429_is_retried_after_retry_after_and_then_succeeds() {
    let fake = FakeLlm::start().await;
    fake.push(Script::status(429, Some("0")));
    fake.push(Script::reply(&["ok"]));
    let (deltas, err, phases) = collect(&client(2, 2000), &request(&fake)).await;
    assert!(err.is_none(), "{err:?}");
    assert_eq!(phases, vec![RetryPhase::Scheduled, RetryPhase::Started]);
    assert_eq!(deltas[0], Delta::Content("ok".into()));
    assert_eq!(fake.requests().len(), 2);
}

/// A provider failure, what the client must report, and how many requests it makes.
struct FailureCase {
    label: &'static str,
    scripts: Vec<Script>,
    kind: LlmErrorKind,
    requests: usize,
    received: usize,
}

/// One case per way a provider can fail.
fn failure_cases() -> [FailureCase; 6] {
    [
        FailureCase {
            label: "401 is not retried",
            scripts: vec![Script::status(401, None)],
            kind: LlmErrorKind::Auth,
            requests: 1,
            received: 0,
        },
        FailureCase {
            label: "500 until retries run out",
            scripts: vec![Script::status(500, None); 3],
            kind: LlmErrorKind::Server,
            requests: 3,
            received: 0,
        },
        FailureCase {
            label: "429 until retries run out keeps Retry-After",
            scripts: vec![Script::status(429, Some("0.01")); 3],
            kind: LlmErrorKind::RateLimit,
            requests: 3,
            received: 0,
        },
        FailureCase {
            label: "malformed chunk after one good one",
            scripts: vec![Script::Malformed {
                content: vec!["par".into()],
            }],
            kind: LlmErrorKind::Malformed,
            requests: 1,
            received: 1,
        },
        FailureCase {
            label: "early disconnect",
            scripts: vec![Script::Disconnect {
                content: vec!["a".into(), "b".into()],
            }],
            kind: LlmErrorKind::Network,
            requests: 1,
            received: 2,
        },
        FailureCase {
            label: "stalled stream hits the idle timeout",
            scripts: vec![Script::Stall {
                content: vec!["a".into()],
            }],
            kind: LlmErrorKind::Timeout,
            requests: 1,
            received: 1,
        },
    ]
}

#[tokio::test]
async fn failures_are_classified_and_retried_only_when_it_can_help() {
    for case in failure_cases() {
        let fake = FakeLlm::start().await;
        for s in case.scripts {
            fake.push(s);
        }
        // Only the stall waits for the idle timeout; elsewhere it just stops a hung test.
        let idle_ms = if case.kind == LlmErrorKind::Timeout {
            300
        } else {
            30_000
        };
        let (deltas, err, phases) = collect(&client(2, idle_ms), &request(&fake)).await;
        let err = err.unwrap_or_else(|| panic!("{}: expected an error", case.label));
        assert_eq!(err.kind, case.kind, "{}: {err}", case.label);
        assert_eq!(fake.requests().len(), case.requests, "{}", case.label);
        assert_eq!(deltas.len(), case.received, "{}", case.label);
        if case.requests > 1 {
            assert_eq!(
                phases.last(),
                Some(&RetryPhase::Exhausted),
                "{}",
                case.label
            );
        }
        if case.kind == LlmErrorKind::RateLimit {
            assert_eq!(err.retry_after_ms(), Some(10), "{}", case.label);
        }
    }
}

#[tokio::test]
async fn an_unreachable_provider_is_a_network_error() {
    let fake = FakeLlm::start().await;
    let mut req = request(&fake);
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    req.base_url = format!("http://{}/v1", free.local_addr().unwrap());
    drop(free);
    let (_, err, _) = collect(&client(0, 1000), &req).await;
    assert_eq!(err.unwrap().kind, LlmErrorKind::Network);
}
