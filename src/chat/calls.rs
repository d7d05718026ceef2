//! Tool calls as the provider streams them: pieces keyed by index (`id` and `name` first, the
//! arguments text in fragments) assembled into whole calls in the order the model emitted them.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::llm::ToolCallDelta;

/// One complete tool call of a step.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    /// The provider's call id (made up when a provider sends none, so results can refer to it).
    pub id: String,
    pub name: String,
    /// The arguments text as the model wrote it.
    pub arguments: String,
}

impl Call {
    /// The parsed arguments: the object the model wrote, or `Err` with why it is not one (the
    /// tool part then shows `{}` and the call fails with that reason, §8.1). NUL characters
    /// are removed from keys and strings, as upstream does.
    pub fn input(&self) -> Result<Map<String, Value>, String> {
        let text = self.arguments.trim();
        if text.is_empty() {
            return Ok(Map::new());
        }
        match serde_json::from_str::<Value>(text) {
            Ok(Value::Object(m)) => match strip_nul(Value::Object(m)) {
                Value::Object(m) => Ok(m),
                _ => Ok(Map::new()),
            },
            Ok(_) => Err("the tool arguments must be a JSON object".into()),
            Err(e) => Err(format!("the tool arguments are not valid JSON ({e})")),
        }
    }
}

fn strip_nul(v: Value) -> Value {
    match v {
        Value::String(s) if s.contains('\0') => Value::String(s.replace('\0', "")),
        Value::Array(a) => Value::Array(a.into_iter().map(strip_nul).collect()),
        Value::Object(m) => Value::Object(
            m.into_iter()
                .map(|(k, v)| (k.replace('\0', ""), strip_nul(v)))
                .collect(),
        ),
        other => other,
    }
}

#[derive(Debug, Default)]
struct Building {
    id: String,
    name: String,
    arguments: String,
}

/// Collects the pieces of a step's calls.
#[derive(Debug, Default)]
pub struct Calls {
    by_index: BTreeMap<u32, Building>,
}

impl Calls {
    /// Add a piece; `true` when it starts a call not seen before.
    pub fn push(&mut self, d: ToolCallDelta) -> bool {
        let new = !self.by_index.contains_key(&d.index);
        let b = self.by_index.entry(d.index).or_default();
        if let Some(id) = d.id
            && b.id.is_empty()
        {
            b.id = id;
        }
        if let Some(name) = d.name {
            // Some providers stream the name in pieces too.
            if b.name != name {
                b.name.push_str(&name);
            }
        }
        b.arguments.push_str(&d.arguments);
        new
    }

    pub fn is_empty(&self) -> bool {
        self.by_index.is_empty()
    }

    /// The complete calls, by index.
    pub fn finish(self) -> Vec<Call> {
        self.by_index
            .into_values()
            .map(|b| Call {
                id: if b.id.is_empty() {
                    format!("call_{}", uuid::Uuid::new_v4().simple())
                } else {
                    b.id
                },
                name: b.name,
                arguments: b.arguments,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn piece(index: u32, id: Option<&str>, name: Option<&str>, args: &str) -> ToolCallDelta {
        ToolCallDelta {
            index,
            id: id.map(str::to_owned),
            name: name.map(str::to_owned),
            arguments: args.to_owned(),
        }
    }

    #[test]
    fn pieces_are_assembled_per_index_in_index_order() {
        let mut calls = Calls::default();
        assert!(calls.push(piece(1, Some("b"), Some("ls"), "")));
        assert!(calls.push(piece(0, Some("a"), Some("read-file"), "{\"pa")));
        assert!(!calls.push(piece(0, None, None, "th\":\"x\"}")));
        assert!(!calls.push(piece(1, None, None, "{}")));
        let done = calls.finish();
        assert_eq!(done.len(), 2);
        assert_eq!(
            (done[0].id.as_str(), done[0].name.as_str()),
            ("a", "read-file")
        );
        assert_eq!(done[0].input().unwrap()["path"], "x");
        assert_eq!(
            (done[1].id.as_str(), done[1].arguments.as_str()),
            ("b", "{}")
        );
    }

    #[test]
    fn bad_arguments_say_why_and_empty_ones_are_an_empty_object() {
        let call = |args: &str| Call {
            id: "c".into(),
            name: "ls".into(),
            arguments: args.into(),
        };
        assert!(call("").input().unwrap().is_empty());
        assert!(
            call("{\"a\":")
                .input()
                .unwrap_err()
                .contains("not valid JSON")
        );
        assert!(call("[1]").input().unwrap_err().contains("JSON object"));
        let clean = call("{\"p\\u0000\":\"a\\u0000b\"}").input().unwrap();
        assert_eq!(clean["p"], "ab");
    }

    #[test]
    fn a_call_without_an_id_gets_one() {
        let mut calls = Calls::default();
        calls.push(piece(0, None, Some("ls"), "{}"));
        assert!(calls.finish()[0].id.starts_with("call_"));
    }
}
