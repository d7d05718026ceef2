//! What the model receives (`PROTOCOL-AGENT.md` §8.5): the system prompt, then the session's
//! messages rebuilt from their stored parts. Text parts become text; each tool part becomes a
//! call of the assistant message of its step, followed by its result (the output for
//! `completed`, `{error}` for `error`, a synthetic error for a call that never finished).
//! Visualizations are left out, and results cleared by a compaction are replaced by a note.
//! A user's attachments follow their text as [`super::attachments`] reads them for the model
//! ([`conversation_with`]), or as notes naming them ([`conversation`]).

use std::path::Path;

use serde_json::{Value, json};

use super::attachments::{self, Inputs};
use crate::llm::{ChatMessage, ToolCall};
use crate::store::{MessageWithParts, Part, Role, Store, StoreError};

/// The most messages of a session sent to the provider (the newest ones).
const HISTORY_LIMIT: u32 = 1000;

/// What a result cleared by a compaction reads as.
pub const CLEARED: &str = "[Old tool result content cleared]";

/// The system prompt, then every message of the session (attachments as notes).
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
    let page = store.newest_messages(session_id, HISTORY_LIMIT).await?;
    let inputs = match media {
        Some((dir, images)) => attachments::load(store, dir, &page.messages, images).await,
        None => Inputs::default(),
    };
    let mut out = Vec::with_capacity(page.messages.len() + 1);
    if let Some(p) = system_prompt {
        out.push(ChatMessage::new("system", p));
    }
    for m in &page.messages {
        append_with(&mut out, m, &inputs);
    }
    Ok(out)
}

/// The messages one stored message becomes (attachments as notes).
pub fn append(out: &mut Vec<ChatMessage>, m: &MessageWithParts) {
    append_with(out, m, &Inputs::default());
}

/// [`append`], with the attachments' inputs as [`attachments::load`] read them.
pub fn append_with(out: &mut Vec<ChatMessage>, m: &MessageWithParts, inputs: &Inputs) {
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
    if mode == Some("retry_failed") {
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
}
