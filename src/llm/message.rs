//! What a request carries: the conversation ([`ChatMessage`], with tool calls and results), the
//! tools the model may call, and provider options, as OpenAI-compatible APIs take them.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::config::Secret;

/// One message of the conversation as the provider sees it: `system`, `user` and `assistant`
/// text, an assistant's tool calls, or a `tool` result for one of them.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ChatMessage {
    pub role: String,
    /// A string, `null` (an assistant turn made only of tool calls), or an array of content
    /// parts (text and images, for models that take images).
    pub content: Value,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<ToolCall>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<String>,
}

/// A tool call of an assistant message, as sent back to the provider.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ToolCall {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub function: FunctionCall,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct FunctionCall {
    pub name: String,
    /// The arguments as the model wrote them (a JSON text).
    pub arguments: String,
}

impl ChatMessage {
    /// A plain text message.
    pub fn new(role: &str, content: impl Into<String>) -> Self {
        Self {
            role: role.to_owned(),
            content: Value::String(content.into()),
            tool_calls: Vec::new(),
            tool_call_id: None,
        }
    }

    /// An assistant message with tool calls (and the text it wrote before them, if any).
    pub fn assistant_calls(text: Option<String>, calls: Vec<ToolCall>) -> Self {
        Self {
            role: "assistant".to_owned(),
            content: text.map_or(Value::Null, Value::String),
            tool_calls: calls,
            tool_call_id: None,
        }
    }

    /// The result of the tool call `call_id`.
    pub fn tool_result(call_id: &str, content: String) -> Self {
        Self {
            role: "tool".to_owned(),
            content: Value::String(content),
            tool_calls: Vec::new(),
            tool_call_id: Some(call_id.to_owned()),
        }
    }
}

impl ToolCall {
    pub fn function(id: &str, name: &str, arguments: &str) -> Self {
        Self {
            id: id.to_owned(),
            kind: "function",
            function: FunctionCall {
                name: name.to_owned(),
                arguments: arguments.to_owned(),
            },
        }
    }
}

/// Where to send a request and what to ask.
#[derive(Debug, Clone)]
pub struct ChatRequest {
    /// e.g. `https://api.openai.com/v1`; `/chat/completions` is appended.
    pub base_url: String,
    pub api_key: Option<Secret>,
    pub model: String,
    pub messages: Vec<ChatMessage>,
    pub temperature: Option<f32>,
    pub max_tokens: Option<u32>,
    /// Tools the model may call (`{"type":"function","function":{name,description,parameters}}`).
    pub tools: Vec<Value>,
    /// Provider options merged into the request body (a model variant's, e.g.
    /// `{"reasoning_effort":"high"}`); they never replace the fields above.
    pub extra: Map<String, Value>,
}

impl ChatRequest {
    /// A request for `model` with nothing optional set.
    pub fn new(base_url: &str, api_key: Option<Secret>, model: &str) -> Self {
        Self {
            base_url: base_url.to_owned(),
            api_key,
            model: model.to_owned(),
            messages: Vec::new(),
            temperature: None,
            max_tokens: None,
            tools: Vec::new(),
            extra: Map::new(),
        }
    }
}
