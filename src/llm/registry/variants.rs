//! A model variant's provider options as request-body fields.
//!
//! The catalog writes variants for the original server's SDK (`{"providerOptions":
//! {"reasoningEffort":"high","thinking":{"type":"adaptive"}}}`); this server speaks the
//! chat-completions wire, whose fields are snake case (`reasoning_effort`, `thinking`). Options
//! that exist only in the Responses API (`reasoningSummary`, `include`) are left out, since a
//! chat-completions endpoint refuses fields it does not know.

use serde_json::{Map, Value};

use super::Model;

/// Options of the Responses API that a chat-completions request must not carry.
const RESPONSES_ONLY: &[&str] = &["reasoningSummary", "reasoning_summary", "include"];

/// The request fields of `model`'s variant `variant` (empty when the model has no such variant).
pub fn request_options(model: &Model, variant: &str) -> Map<String, Value> {
    model
        .variants
        .as_ref()
        .and_then(|v| v.get(variant))
        .and_then(|v| v.get("providerOptions"))
        .and_then(Value::as_object)
        .map(to_request_fields)
        .unwrap_or_default()
}

/// `{"reasoningEffort":"high"}` → `{"reasoning_effort":"high"}`; nested values are kept as they are.
pub fn to_request_fields(options: &Map<String, Value>) -> Map<String, Value> {
    options
        .iter()
        .filter(|(k, _)| !RESPONSES_ONLY.contains(&k.as_str()))
        .map(|(k, v)| (snake_case(k), v.clone()))
        .collect()
}

fn snake_case(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    for c in name.chars() {
        if c.is_ascii_uppercase() {
            if !out.is_empty() {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn sdk_options_become_chat_completion_fields() {
        let opts = json!({"reasoningEffort": "high", "reasoningSummary": "auto",
                          "include": ["reasoning.encrypted_content"],
                          "thinking": {"type": "adaptive"}, "top_k": 3});
        let got = to_request_fields(opts.as_object().unwrap());
        assert_eq!(
            Value::Object(got),
            json!({"reasoning_effort": "high", "thinking": {"type": "adaptive"}, "top_k": 3})
        );
    }

    #[test]
    fn an_unknown_variant_adds_nothing() {
        let m: Model = serde_json::from_value(json!({"id": "m", "name": "M", "contextWindow": 1,
            "tier": "budget", "variants": {"high": {"providerOptions": {"reasoningEffort": "high"}}}}))
        .unwrap();
        assert_eq!(
            Value::Object(request_options(&m, "high")),
            json!({"reasoning_effort": "high"})
        );
        assert!(request_options(&m, "max").is_empty());
    }
}
