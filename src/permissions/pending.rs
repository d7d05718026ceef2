//! The open asks, by request id, each with the channel its tool waits on.

use std::collections::HashMap;
use std::sync::Mutex;

use serde_json::Value;
use tokio::sync::oneshot;

use crate::tools::GrantScope;

/// A person's answer to a permission ask.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Answer {
    /// `None`: denied.
    pub grant: Option<GrantScope>,
    /// How long a `session` grant lasts, when the client said.
    pub duration_ms: Option<i64>,
}

impl Answer {
    /// `{type:"permission", grant:"once"|"session"|"workspace"|"deny", duration?}`.
    pub fn parse(response: &Value) -> Option<Answer> {
        if response.get("type").and_then(Value::as_str) != Some("permission") {
            return None;
        }
        let grant = match response.get("grant").and_then(Value::as_str)? {
            "once" => Some(GrantScope::Once),
            "session" => Some(GrantScope::Session),
            "workspace" | "always" => Some(GrantScope::Workspace),
            "deny" => None,
            _ => return None,
        };
        let duration_ms = response
            .get("duration")
            .and_then(Value::as_i64)
            .filter(|d| *d > 0);
        Some(Answer { grant, duration_ms })
    }
}

pub struct Pending {
    pub request_id: String,
    pub session_id: String,
    pub tool_call_id: String,
    /// The `ask.request` body (also an entry of `ask.pending_sync`).
    pub request: Value,
    pub answer: oneshot::Sender<Answer>,
}

#[derive(Default)]
pub struct PendingAsks {
    by_id: Mutex<HashMap<String, Pending>>,
}

impl PendingAsks {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Pending>> {
        self.by_id.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn insert(&self, p: Pending) {
        self.lock().insert(p.request_id.clone(), p);
    }

    pub fn remove(&self, request_id: &str) {
        self.lock().remove(request_id);
    }

    /// Hand `answer` to the ask with this request id (or, without one, this tool call).
    pub fn resolve(&self, request_id: Option<&str>, tool_call_id: &str, answer: Answer) -> bool {
        let mut map = self.lock();
        let key = match request_id {
            Some(id) => map.contains_key(id).then(|| id.to_owned()),
            None => map
                .values()
                .find(|p| p.tool_call_id == tool_call_id)
                .map(|p| p.request_id.clone()),
        };
        match key.and_then(|k| map.remove(&k)) {
            Some(p) => p.answer.send(answer).is_ok(),
            None => false,
        }
    }

    /// The session of the ask with this request id (or, without one, this tool call).
    pub fn session_of(&self, request_id: Option<&str>, tool_call_id: &str) -> Option<String> {
        let map = self.lock();
        match request_id {
            Some(id) => map.get(id).map(|p| p.session_id.clone()),
            None => map
                .values()
                .find(|p| p.tool_call_id == tool_call_id)
                .map(|p| p.session_id.clone()),
        }
    }

    pub fn of_session(&self, session_id: &str) -> Vec<Value> {
        self.lock()
            .values()
            .filter(|p| p.session_id == session_id)
            .map(|p| p.request.clone())
            .collect()
    }

    pub fn ids_of_session(&self, session_id: &str) -> Vec<String> {
        self.lock()
            .values()
            .filter(|p| p.session_id == session_id)
            .map(|p| p.request_id.clone())
            .collect()
    }
}
