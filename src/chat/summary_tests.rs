//! Unit tests of the pure compaction rules.

use serde_json::json;

use super::*;
use crate::store::{Message, MessageStatus};

fn message(role: Role, parts: Vec<Value>) -> MessageWithParts {
    let mut m = match role {
        Role::User => Message::user("s", 1),
        _ => Message::assistant("s", 1, "m", "openai"),
    };
    if let Some(a) = m.assistant.as_mut() {
        a.status = MessageStatus::Completed;
    }
    let parts = parts
        .into_iter()
        .map(|d| {
            let Value::Object(d) = d else {
                panic!("object")
            };
            Part::new(&m, 1, d)
        })
        .collect();
    MessageWithParts { message: m, parts }
}

fn text(t: &str) -> Value {
    json!({"type": "text", "text": t})
}

fn tool(output: &str) -> Value {
    json!({"type": "tool", "callId": "c", "name": "read-file",
           "state": {"status": "completed", "input": {"path": "a"}, "output": output}})
}

#[test]
fn a_session_is_worth_compacting_once_it_has_a_user_turn_and_a_reply() {
    let user = message(Role::User, vec![text("hi")]);
    let reply = message(Role::Assistant, vec![text("hello")]);
    let trigger = message(
        Role::User,
        vec![json!({"type": "compaction", "auto": false})],
    );
    let mut failed = message(Role::Assistant, vec![text("Compaction failed: x")]);
    if let Some(a) = failed.message.assistant.as_mut() {
        a.mode = Some("compact_failed".into());
    }
    let cases = [
        ("empty", vec![], false),
        ("a lone question", vec![user.clone()], false),
        (
            "a question and its reply",
            vec![user.clone(), reply.clone()],
            true,
        ),
        ("two replies", vec![reply.clone(), reply.clone()], false),
        (
            "failures and triggers do not count",
            vec![user, trigger, failed],
            false,
        ),
    ];
    for (label, messages, want) in cases {
        assert_eq!(worth_compacting(&messages), want, "{label}");
    }
}

#[test]
fn the_threshold_stays_between_65_and_75_percent_of_the_window() {
    let cases = [
        ("large window, capped reserve", 200_000, 64_000, 148_000),
        ("128k, 16k output", 128_000, 16_000, 96_000),
        ("small window", 2_000, 32_000, 1_300),
    ];
    for (label, cw, out, want) in cases {
        let t = auto_threshold(cw, out);
        assert_eq!(t, want, "{label}");
        assert!(t * 100 >= cw * 65 && t * 100 <= cw * 75, "{label}: {t}");
    }
}

#[test]
fn the_summary_request_fits_the_window() {
    assert_eq!(summary_max_tokens(None, None), 8000);
    assert_eq!(summary_max_tokens(Some(2000), Some(4096)), 500);
    let budget = conversation_budget(Some(2000), 500);
    assert_eq!(budget, 1350 * CHARS_PER_TOKEN as usize);
    let long: Vec<MessageWithParts> = (0..100)
        .map(|i| message(Role::User, vec![text(&format!("message number {i}"))]))
        .collect();
    let t = conversation_text(&long, 200);
    assert!(t.chars().count() < 260, "{}", t.len());
    assert!(t.starts_with("[… the oldest part"), "{t}");
    assert!(t.ends_with("message number 99"), "the newest is kept: {t}");
}

#[test]
fn the_conversation_text_names_speakers_and_quotes_tools_briefly() {
    let big = "x".repeat(2000);
    let messages = vec![
        message(Role::User, vec![text("read a")]),
        message(Role::Assistant, vec![text("reading"), tool(&big)]),
    ];
    let t = conversation_text(&messages, usize::MAX);
    assert!(t.starts_with("--- USER ---\nread a\n--- ASSISTANT ---\nreading\n[tool read-file]"));
    assert!(t.len() < 800, "the output is quoted briefly: {}", t.len());
    let first = prompt(None, &t);
    assert!(first.starts_with(PROMPT_START) && first.ends_with(&t));
    let next = prompt(Some("the earlier gist"), &t);
    assert!(next.starts_with(PROMPT_START) && next.contains("the earlier gist"));
}

#[test]
fn large_old_tool_outputs_are_cleared_but_the_newest_three_stay() {
    let big = "y".repeat(SMALL_OUTPUT + 1);
    let mut parts: Vec<Value> = (0..5).map(|_| tool(&big)).collect();
    parts.push(tool("small"));
    let m = message(Role::Assistant, parts);
    let cleared = outputs_to_clear(std::slice::from_ref(&m));
    let want: Vec<String> = m.parts[..2].iter().map(|p| p.id.clone()).collect();
    assert_eq!(cleared, want);
}
