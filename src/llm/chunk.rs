//! One chat-completions stream chunk (`data: {...}`) → the deltas the turn cares about.
//! Pure, so every provider quirk can be unit-tested without a socket.

use serde_json::Value;

use super::error::{LlmError, LlmErrorKind};

/// Token counts from the final `usage` chunk (`stream_options.include_usage`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    pub prompt_tokens: i64,
    pub completion_tokens: i64,
    /// `prompt_tokens_details.cached_tokens` (or DeepSeek's `prompt_cache_hit_tokens`).
    pub cached_tokens: i64,
}

/// What one chunk can carry.
#[derive(Debug, Clone, PartialEq)]
pub enum Delta {
    /// `choices[0].delta.content`.
    Content(String),
    /// `choices[0].delta.reasoning_content` or `.reasoning`.
    Reasoning(String),
    /// The final usage.
    Usage(Usage),
    /// `choices[0].finish_reason`.
    Finish(String),
    /// A piece of `choices[0].delta.tool_calls[i]`: the first piece of a call carries its `id`
    /// and `name`, later pieces more of its `arguments` text.
    ToolCall(ToolCallDelta),
}

/// One piece of a streamed tool call, keyed by its `index` in the reply.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ToolCallDelta {
    pub index: u32,
    pub id: Option<String>,
    pub name: Option<String>,
    pub arguments: String,
}

/// The payload that ends a stream.
pub const DONE: &str = "[DONE]";

/// Parse one event's data (not `[DONE]`).
pub fn parse_chunk(data: &str) -> Result<Vec<Delta>, LlmError> {
    let v: Value = serde_json::from_str(data).map_err(|e| {
        let sample: String = data.chars().take(120).collect();
        LlmError::new(
            LlmErrorKind::Malformed,
            format!("The provider sent a malformed stream chunk ({e}): {sample}"),
        )
    })?;
    if let Some(err) = v.get("error").filter(|e| !e.is_null()) {
        let msg = err
            .get("message")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .unwrap_or_else(|| err.to_string());
        return Err(LlmError::new(
            LlmErrorKind::Server,
            format!("The provider reported an error mid-stream: {msg}"),
        ));
    }
    if !v.is_object() {
        return Err(LlmError::new(
            LlmErrorKind::Malformed,
            "The provider sent a stream chunk that is not a JSON object",
        ));
    }
    let mut out = Vec::new();
    if let Some(choice) = v.pointer("/choices/0") {
        if let Some(delta) = choice.get("delta") {
            let reasoning = delta
                .get("reasoning_content")
                .and_then(Value::as_str)
                .or_else(|| delta.get("reasoning").and_then(Value::as_str));
            if let Some(r) = reasoning.filter(|r| !r.is_empty()) {
                out.push(Delta::Reasoning(r.to_owned()));
            }
            if let Some(c) = delta
                .get("content")
                .and_then(Value::as_str)
                .filter(|c| !c.is_empty())
            {
                out.push(Delta::Content(c.to_owned()));
            }
            for (i, call) in delta
                .get("tool_calls")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .enumerate()
            {
                out.push(Delta::ToolCall(tool_call(call, i)));
            }
        }
        if let Some(f) = choice.get("finish_reason").and_then(Value::as_str) {
            out.push(Delta::Finish(f.to_owned()));
        }
    }
    if let Some(u) = v.get("usage").filter(|u| u.is_object()) {
        let n = |p: &str| u.pointer(p).and_then(Value::as_i64);
        out.push(Delta::Usage(Usage {
            prompt_tokens: n("/prompt_tokens").unwrap_or(0),
            completion_tokens: n("/completion_tokens").unwrap_or(0),
            cached_tokens: n("/prompt_tokens_details/cached_tokens")
                .or_else(|| n("/prompt_cache_hit_tokens"))
                .unwrap_or(0),
        }));
    }
    Ok(out)
}

/// A `tool_calls[i]` entry; providers that omit `index` are read in array order.
fn tool_call(call: &Value, position: usize) -> ToolCallDelta {
    let text = |p: &str| {
        call.pointer(p)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    ToolCallDelta {
        index: call
            .get("index")
            .and_then(Value::as_u64)
            .and_then(|i| u32::try_from(i).ok())
            .unwrap_or(u32::try_from(position).unwrap_or(u32::MAX)),
        id: text("/id"),
        name: text("/function/name"),
        arguments: text("/function/arguments").unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_reasoning_finish_and_usage_are_read() {
        let cases: [(&str, &str, Vec<Delta>); 5] = [
            (
                "content",
                r#"{"choices":[{"index":0,"delta":{"role":"assistant","content":"Hi"}}]}"#,
                vec![Delta::Content("Hi".into())],
            ),
            (
                "reasoning_content (DeepSeek)",
                r#"{"choices":[{"delta":{"reasoning_content":"think","content":null}}]}"#,
                vec![Delta::Reasoning("think".into())],
            ),
            (
                "reasoning (OpenRouter)",
                r#"{"choices":[{"delta":{"reasoning":"hmm","content":""}}]}"#,
                vec![Delta::Reasoning("hmm".into())],
            ),
            (
                "finish",
                r#"{"choices":[{"delta":{},"finish_reason":"stop"}]}"#,
                vec![Delta::Finish("stop".into())],
            ),
            (
                "usage with cached tokens and no choices",
                r#"{"choices":[],"usage":{"prompt_tokens":12,"completion_tokens":5,"prompt_tokens_details":{"cached_tokens":4}}}"#,
                vec![Delta::Usage(Usage {
                    prompt_tokens: 12,
                    completion_tokens: 5,
                    cached_tokens: 4,
                })],
            ),
        ];
        for (label, data, want) in cases {
            assert_eq!(parse_chunk(data).unwrap(), want, "{label}");
        }
    }

    #[test]
    fn tool_call_pieces_are_read_with_their_index() {
        let first = r#"{"choices":[{"delta":{"tool_calls":[{"index":1,"id":"call_1","type":"function","function":{"name":"ls","arguments":""}}]}}]}"#;
        let more = r#"{"choices":[{"delta":{"tool_calls":[{"index":1,"function":{"arguments":"{\"path\":"}}]}}]}"#;
        assert_eq!(
            parse_chunk(first).unwrap(),
            vec![Delta::ToolCall(ToolCallDelta {
                index: 1,
                id: Some("call_1".into()),
                name: Some("ls".into()),
                arguments: String::new(),
            })]
        );
        assert_eq!(
            parse_chunk(more).unwrap(),
            vec![Delta::ToolCall(ToolCallDelta {
                index: 1,
                id: None,
                name: None,
                arguments: "{\"path\":".into(),
            })]
        );
    }

    #[test]
    fn bad_chunks_are_errors() {
        let cases = [
            ("not json", "{\"choices\":[", LlmErrorKind::Malformed),
            ("not an object", "[1,2]", LlmErrorKind::Malformed),
            (
                "error object",
                r#"{"error":{"message":"overloaded"}}"#,
                LlmErrorKind::Server,
            ),
        ];
        for (label, data, kind) in cases {
            assert_eq!(parse_chunk(data).unwrap_err().kind, kind, "{label}");
        }
    }
}
