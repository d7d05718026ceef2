//! The body of one chat-completions request, as the provider reads it.
//!
//! OpenAI's reasoning models (`o1`, `o3`, `o4-mini`, the `gpt-5` family) refuse two fields every
//! other model takes: a `temperature` other than the default, and `max_tokens` (they want
//! `max_completion_tokens`). A preconfig written for any model (the built-in ones ask for a
//! temperature of 0.2–0.3) must still work with them, as it does with the original server, whose
//! SDK makes the same adjustment: for those models the temperature is left out and the output
//! limit is sent as `max_completion_tokens`.

use serde::Serialize;
use serde_json::{Map, Value};

use super::message::{ChatMessage, ChatRequest};

#[derive(Serialize)]
pub(super) struct WireRequest<'a> {
    model: &'a str,
    messages: &'a [ChatMessage],
    stream: bool,
    stream_options: StreamOptions,
    #[serde(skip_serializing_if = "Option::is_none")]
    temperature: Option<f32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_tokens: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_completion_tokens: Option<u32>,
    #[serde(skip_serializing_if = "<[Value]>::is_empty")]
    tools: &'a [Value],
    #[serde(flatten)]
    extra: Map<String, Value>,
}

#[derive(Serialize)]
struct StreamOptions {
    include_usage: bool,
}

impl<'a> WireRequest<'a> {
    /// The streamed request for `req`.
    pub(super) fn new(req: &'a ChatRequest) -> Self {
        let reasoning = is_reasoning_model(&req.model);
        WireRequest {
            model: &req.model,
            messages: &req.messages,
            stream: true,
            stream_options: StreamOptions {
                include_usage: true,
            },
            temperature: req.temperature.filter(|_| !reasoning),
            max_tokens: req.max_tokens.filter(|_| !reasoning),
            max_completion_tokens: req.max_tokens.filter(|_| reasoning),
            tools: &req.tools,
            extra: extra_without_our_fields(&req.extra),
        }
    }
}

/// Whether `model` is one of OpenAI's reasoning models, by its id as OpenAI names it (a router's
/// `openai/gpt-5` is the router's to translate).
fn is_reasoning_model(model: &str) -> bool {
    let id = model.to_ascii_lowercase();
    let family = |p: &str| {
        id.strip_prefix(p)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with(['-', '.']))
    };
    let gpt5 = id.starts_with("gpt-5") && !id.starts_with("gpt-5-chat");
    gpt5 || ["o1", "o3", "o4", "o3-mini", "o4-mini"]
        .into_iter()
        .any(family)
}

/// Provider options may add fields but never replace the ones this client sets.
fn extra_without_our_fields(extra: &Map<String, Value>) -> Map<String, Value> {
    const OURS: &[&str] = &[
        "model",
        "messages",
        "stream",
        "stream_options",
        "temperature",
        "max_tokens",
        "max_completion_tokens",
        "tools",
    ];
    extra
        .iter()
        .filter(|(k, _)| !OURS.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn body(model: &str) -> Value {
        let mut req = ChatRequest::new("http://p", None, model);
        req.temperature = Some(0.3);
        req.max_tokens = Some(500);
        req.extra = json!({"reasoning_effort": "high", "max_tokens": 9, "model": "x"})
            .as_object()
            .cloned()
            .unwrap_or_default();
        serde_json::to_value(WireRequest::new(&req)).unwrap()
    }

    #[test]
    fn reasoning_models_get_no_temperature_and_a_completion_limit() {
        for model in [
            "gpt-5.4",
            "gpt-5",
            "gpt-5-mini",
            "o3",
            "o4-mini",
            "o1-2024-12-17",
        ] {
            let b = body(model);
            assert!(b.get("temperature").is_none(), "{model}: {b}");
            assert!(b.get("max_tokens").is_none(), "{model}: {b}");
            assert_eq!(b["max_completion_tokens"], 500, "{model}");
            assert_eq!(b["reasoning_effort"], "high", "{model}");
            assert_eq!(b["model"], model);
        }
    }

    #[test]
    fn other_models_get_the_fields_as_set() {
        for model in [
            "gpt-4.1",
            "gpt-5-chat-latest",
            "openai/gpt-5",
            "o1x",
            "glm-4.6",
            "omni",
        ] {
            let b = body(model);
            assert_eq!(b["temperature"], json!(0.3_f32), "{model}: {b}");
            assert_eq!(b["max_tokens"], 500, "{model}: {b}");
            assert!(b.get("max_completion_tokens").is_none(), "{model}");
        }
    }
}
