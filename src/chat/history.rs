//! What the model receives (`PROTOCOL-AGENT.md` §8.5): the system prompt, then the session's
//! messages rebuilt from their stored parts. Text parts become text; each tool part becomes a
//! call of the assistant message of its step, followed by its result (the output for
//! `completed`, `{error}` for `error`, a synthetic error for a call that never finished).
//! Visualizations are left out, and results cleared by a compaction are replaced by a note.
//! A user's attachments follow their text as [`super::attachments`] reads them for the model
//! ([`conversation_with`]), or as notes naming them ([`conversation`]). After a compaction only
//! the messages from its trigger on are sent (`PROTOCOL-AGENT.md` §11.5): the trigger reads as a
//! user question, the summary as the answer.

use std::path::Path;

use serde_json::{Value, json};

use super::attachments::{self, Inputs};
use super::summary;
use crate::llm::{ChatMessage, ToolCall};
use crate::store::{MessageWithParts, Part, Role, Store, StoreError};

/// The most messages of a session sent to the provider (the newest ones).
const HISTORY_LIMIT: u32 = 1000;

/// What a result cleared by a compaction reads as.
pub const CLEARED: &str = "[Old tool result content cleared]";

/// The system prompt, then the session's messages since its last compaction (attachments as
/// notes).
pub async fn conversation(
    store: &Store,
    system_prompt: Option<&str>,
    session_id: &str,
) -> Result<Vec<ChatMessage>, StoreError> {
    conversation_with(store, system_prompt, session_id, None).await
}

/// [`conversation`], with the attachments read for the model when `media` is given: the data
/// dir, and whether the model takes images.
pub async fn conversation_with(
    store: &Store,
    system_prompt: Option<&str>,
    session_id: &str,
    media: Option<(&Path, bool)>,
) -> Result<Vec<ChatMessage>, StoreError> {
    let messages = store.context_messages(session_id, HISTORY_LIMIT).await?;
    let inputs = match media {
        Some((dir, images)) => attachments::load(store, dir, &messages, images).await,
        None => Inputs::default(),
    };
    let mut out = Vec::with_capacity(messages.len() + 1);
    if let Some(p) = system_prompt {
        out.push(ChatMessage::new("system", p));
    }
    // A trigger without a summary (the compaction failed) asked nothing that was answered.
    let summarised: Vec<&str> = messages
        .iter()
        .filter_map(|m| m.message.assistant.as_ref())
        .filter(|a| a.summary)
        .filter_map(|a| a.parent_id.as_deref())
        .collect();
    for m in &messages {
        let open_trigger =
            trigger_text(&m.parts).is_some() && !summarised.contains(&m.message.id.as_str());
        if !open_trigger {
            append_with(&mut out, m, &inputs);
        }
    }
    Ok(out)
}

/// What the model reads for a compaction trigger, if `parts` are one's.
fn trigger_text(parts: &[Part]) -> Option<&'static str> {
    let p = parts.iter().find(|p| p.kind() == "compaction")?;
    Some(match p.data.get("overflow").and_then(Value::as_bool) {
        Some(true) => summary::OVERFLOW_TRIGGER_TEXT,
        _ => summary::TRIGGER_TEXT,
    })
}

/// The messages one stored message becomes (attachments as notes).
pub fn append(out: &mut Vec<ChatMessage>, m: &MessageWithParts) {
    append_with(out, m, &Inputs::default());
}

/// [`append`], with the attachments' inputs as [`attachments::load`] read them.
pub fn append_with(out: &mut Vec<ChatMessage>, m: &MessageWithParts, inputs: &Inputs) {
    if let Some(t) = trigger_text(&m.parts) {
        out.push(ChatMessage::new("user", t));
        return;
    }
    if m.message.role != Role::Assistant {
        if let Some(content) = attachments::user_content(&m.parts, inputs) {
            let role = if m.message.role == Role::System {
                "system"
            } else {
                "user"
            };
            out.push(ChatMessage {
                role: role.to_owned(),
                content,
                tool_calls: Vec::new(),
                tool_call_id: None,
            });
        }
        return;
    }
    let mode = m.message.assistant.as_ref().and_then(|a| a.mode.as_deref());
    if matches!(mode, Some("retry_failed" | "compact_failed")) {
        return;
    }
    let mut step = Step::default();
    for part in &m.parts {
        match part.kind() {
            // A step part is created when its step starts: what came before is the last step.
            "step" => step.flush(out),
            "text" => step.text.push(part_text(part)),
            "tool" => step.calls.push(part),
            _ => {}
        }
    }
    step.flush(out);
}

/// The text and calls of one step of an assistant message.
#[derive(Default)]
struct Step<'a> {
    text: Vec<&'a str>,
    calls: Vec<&'a Part>,
}

impl Step<'_> {
    fn flush(&mut self, out: &mut Vec<ChatMessage>) {
        let text = self
            .text
            .drain(..)
            .filter(|t| !t.is_empty())
            .collect::<Vec<_>>()
            .join("\n");
        let calls: Vec<&Part> = std::mem::take(&mut self.calls);
        if calls.is_empty() {
            if !text.is_empty() {
                out.push(ChatMessage::new("assistant", text));
            }
            return;
        }
        let text = (!text.is_empty()).then_some(text);
        let wire = calls.iter().map(|p| call_of(p)).collect();
        out.push(ChatMessage::assistant_calls(text, wire));
        for p in calls {
            let id = p.data.get("callId").and_then(Value::as_str).unwrap_or("");
            out.push(ChatMessage::tool_result(id, result_of(p)));
        }
    }
}

fn part_text(p: &Part) -> &str {
    p.data.get("text").and_then(Value::as_str).unwrap_or("")
}

/// The call a tool part stands for, as the provider sees it again.
pub fn call_of(p: &Part) -> ToolCall {
    let s = |k: &str| p.data.get(k).and_then(Value::as_str).unwrap_or("");
    let input = p
        .data
        .get("state")
        .and_then(|st| st.get("input"))
        .cloned()
        .unwrap_or_else(|| json!({}));
    ToolCall::function(s("callId"), s("name"), &input.to_string())
}

/// The result text the model gets for a tool part.
pub fn result_of(p: &Part) -> String {
    let state = p.data.get("state").cloned().unwrap_or(Value::Null);
    match state.get("status").and_then(Value::as_str) {
        Some("completed") if state.get("compactedAt").is_some() => CLEARED.to_owned(),
        Some("completed") => {
            let mut output = state.get("output").cloned().unwrap_or(Value::Null);
            if let Some(o) = output.as_object_mut() {
                o.remove("_visualization");
            }
            match output {
                Value::String(s) => s,
                other => other.to_string(),
            }
        }
        Some("error") => {
            let e = state.get("error").and_then(Value::as_str).unwrap_or("");
            json!({ "error": e }).to_string()
        }
        Some("interrupted") => json!({"error": "Tool execution was interrupted"}).to_string(),
        _ => json!({"error": "Tool execution was not completed"}).to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Message;
    use serde_json::Map;

    fn part(m: &Message, n: i64, data: Value) -> Part {
        let Value::Object(data) = data else {
            panic!("object")
        };
        let mut p = Part::new(m, n, data);
        p.id = format!("p{n}");
        p
    }

    fn reply(parts: Vec<Value>) -> MessageWithParts {
        let m = Message::assistant("s", 1, "model", "openai");
        let parts = parts
            .into_iter()
            .enumerate()
            .map(|(i, d)| part(&m, i as i64, d))
            .collect();
        MessageWithParts { message: m, parts }
    }

    #[test]
    fn a_two_step_reply_becomes_calls_results_and_the_final_text() {
        let m = reply(vec![
            json!({"type":"step","number":1,"status":"finished"}),
            json!({"type":"text","text":"Let me look."}),
            json!({"type":"tool","callId":"c1","name":"ls","state":{"status":"completed","input":{"path":"."},"output":{"content":"a\nb","_visualization":{"type":"none"}}}}),
            json!({"type":"tool","callId":"c2","name":"read-file","state":{"status":"error","input":{},"error":"No such file"}}),
            json!({"type":"step","number":2,"status":"started"}),
            json!({"type":"text","text":"Done."}),
        ]);
        let mut out = Vec::new();
        append(&mut out, &m);
        let roles: Vec<&str> = out.iter().map(|c| c.role.as_str()).collect();
        assert_eq!(roles, ["assistant", "tool", "tool", "assistant"]);
        assert_eq!(out[0].content, json!("Let me look."));
        assert_eq!(out[0].tool_calls.len(), 2);
        assert_eq!(out[0].tool_calls[0].function.arguments, r#"{"path":"."}"#);
        assert_eq!(out[1].tool_call_id.as_deref(), Some("c1"));
        assert_eq!(
            out[1].content,
            json!(r#"{"content":"a\nb"}"#),
            "no visualization"
        );
        assert_eq!(out[2].content, json!(r#"{"error":"No such file"}"#));
        assert_eq!(out[3].content, json!("Done."));
    }

    #[test]
    fn unfinished_and_cleared_results_are_stood_in_for() {
        let pending = part(
            &Message::assistant("s", 1, "m", "p"),
            0,
            json!({"type":"tool","callId":"c","name":"shell","state":{"status":"pending","input":{}}}),
        );
        assert!(result_of(&pending).contains("not completed"));
        let mut cleared = pending.clone();
        cleared.data.insert(
            "state".into(),
            json!({"status":"completed","input":{},"output":"x","compactedAt":5}),
        );
        assert_eq!(result_of(&cleared), CLEARED);
        let _ = Map::<String, Value>::new();
    }

    #[test]
    fn a_compaction_reads_as_a_question_and_its_summary_and_failures_are_skipped() {
        let trigger_of = |overflow: bool| {
            let m = Message::user("s", 1);
            let p = part(
                &m,
                1,
                json!({"type":"compaction","auto":true,"overflow":overflow}),
            );
            MessageWithParts {
                message: m,
                parts: vec![p],
            }
        };
        let mut summary = reply(vec![json!({"type":"text","text":"the gist"})]);
        if let Some(a) = summary.message.assistant.as_mut() {
            a.summary = true;
            a.mode = Some("compaction".into());
        }
        let mut failed = reply(vec![json!({"type":"text","text":"Compaction failed: x"})]);
        if let Some(a) = failed.message.assistant.as_mut() {
            a.mode = Some("compact_failed".into());
        }
        let mut out = Vec::new();
        for m in [&trigger_of(false), &summary, &failed, &trigger_of(true)] {
            append(&mut out, m);
        }
        let got: Vec<(&str, &Value)> = out.iter().map(|c| (c.role.as_str(), &c.content)).collect();
        assert_eq!(
            got,
            [
                ("user", &json!(summary::TRIGGER_TEXT)),
                ("assistant", &json!("the gist")),
                ("user", &json!(summary::OVERFLOW_TRIGGER_TEXT)),
            ]
        );
    }
}
