//! `todoread` and `todowrite`: a session's task list. Where the list lives is the caller's
//! choice ([`TodoStore`]); the server backs it with its database, tests with memory.

use std::collections::HashMap;
use std::sync::Mutex;

use futures_util::future::BoxFuture;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::env::ToolEnv;
use super::outcome::ToolOutput;

/// One task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Todo {
    pub content: String,
    pub status: TodoStatus,
    pub priority: TodoPriority,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TodoStatus {
    Pending,
    InProgress,
    Completed,
    Cancelled,
}

/// Ordered high first, as `todoread` lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TodoPriority {
    High,
    Medium,
    Low,
}

/// A store failure, with a message the model may read.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct TodoStoreError(pub String);

/// Where sessions' task lists are kept. `get` returns a list in the order it was written.
pub trait TodoStore: Send + Sync {
    fn get<'a>(&'a self, session_id: &'a str) -> BoxFuture<'a, Result<Vec<Todo>, TodoStoreError>>;
    fn replace<'a>(
        &'a self,
        session_id: &'a str,
        todos: Vec<Todo>,
    ) -> BoxFuture<'a, Result<(), TodoStoreError>>;
}

/// Task lists in memory, for tests.
#[derive(Default)]
pub struct MemoryTodoStore {
    lists: Mutex<HashMap<String, Vec<Todo>>>,
}

impl TodoStore for MemoryTodoStore {
    fn get<'a>(&'a self, session_id: &'a str) -> BoxFuture<'a, Result<Vec<Todo>, TodoStoreError>> {
        let list = match self.lists.lock() {
            Ok(lists) => Ok(lists.get(session_id).cloned().unwrap_or_default()),
            Err(_) => Err(TodoStoreError("todo store poisoned".into())),
        };
        Box::pin(async move { list })
    }

    fn replace<'a>(
        &'a self,
        session_id: &'a str,
        todos: Vec<Todo>,
    ) -> BoxFuture<'a, Result<(), TodoStoreError>> {
        let done = match self.lists.lock() {
            Ok(mut lists) => {
                lists.insert(session_id.to_owned(), todos);
                Ok(())
            }
            Err(_) => Err(TodoStoreError("todo store poisoned".into())),
        };
        Box::pin(async move { done })
    }
}

fn visualization(todos: &[Todo]) -> Value {
    json!({"type": "todo-list", "title": "Todo List", "items": todos})
}

pub(super) async fn run_read(env: &ToolEnv) -> ToolOutput {
    match env.todos.get(&env.session_id).await {
        Ok(mut todos) => {
            // Stable: within a priority, the written order stands.
            todos.sort_by_key(|t| t.priority);
            ToolOutput::ok(json!({"todos": todos}), visualization(&todos))
        }
        Err(e) => ToolOutput::fail(e.to_string()),
    }
}

pub(super) async fn run_write(input: &Value, env: &ToolEnv) -> ToolOutput {
    let todos = match validate(input) {
        Ok(t) => t,
        Err(e) => return ToolOutput::fail(e),
    };
    let count = todos.len();
    let viz = visualization(&todos);
    match env.todos.replace(&env.session_id, todos).await {
        Ok(()) => ToolOutput::ok(json!({"count": count}), viz),
        Err(e) => ToolOutput::fail(e.to_string()),
    }
}

const STATUSES: &str = "pending, in_progress, completed, cancelled";
const PRIORITIES: &str = "high, medium, low";

/// The list, with the validation messages of upstream.
fn validate(input: &Value) -> Result<Vec<Todo>, String> {
    let Some(items) = input.get("todos").and_then(Value::as_array) else {
        return Err("todos must be an array".into());
    };
    items.iter().map(one).collect()
}

fn one(item: &Value) -> Result<Todo, String> {
    let content = item
        .get("content")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if content.trim().is_empty() {
        return Err("each todo must have content".into());
    }
    let raw_status = item.get("status").cloned().unwrap_or(Value::Null);
    let status = TodoStatus::deserialize(&raw_status).map_err(|_| {
        format!(
            "invalid status: {}. Must be one of: {STATUSES}",
            text_of(&raw_status)
        )
    })?;
    let priority = match item.get("priority") {
        None | Some(Value::Null) => TodoPriority::Medium,
        Some(raw) => TodoPriority::deserialize(raw).map_err(|_| {
            format!(
                "invalid priority: {}. Must be one of: {PRIORITIES}",
                text_of(raw)
            )
        })?,
    };
    Ok(Todo {
        content: content.to_owned(),
        status,
        priority,
    })
}

fn text_of(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => "undefined".into(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use crate::tools::testenv::TestEnv;
    use serde_json::json;

    #[tokio::test]
    async fn a_written_list_reads_back_high_priority_first() {
        let t = TestEnv::new();
        let todos = json!([
            {"content": "b", "status": "pending", "priority": "low"},
            {"content": "a", "status": "in_progress"},
            {"content": "c", "status": "completed", "priority": "high"},
        ]);
        let out = t.run("todowrite", json!({"todos": todos})).await;
        assert_eq!(out.result, Some(json!({"count": 3})));
        assert_eq!(out.visualization.unwrap()["items"][1]["priority"], "medium");
        let read = t.run("todoread", json!({})).await;
        let names: Vec<_> = read.result.unwrap()["todos"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["content"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(names, ["c", "a", "b"]);
        assert_eq!(read.visualization.unwrap()["type"], "todo-list");
    }

    #[tokio::test]
    async fn a_new_list_replaces_the_old_one() {
        let t = TestEnv::new();
        t.run(
            "todowrite",
            json!({"todos": [{"content": "a", "status": "pending"}]}),
        )
        .await;
        t.run("todowrite", json!({"todos": []})).await;
        assert_eq!(
            t.run("todoread", json!({})).await.result,
            Some(json!({"todos": []}))
        );
    }

    #[tokio::test]
    async fn invalid_todos_fail_with_the_reason() {
        let t = TestEnv::new();
        let cases = [
            (json!({}), "todos must be an array"),
            (
                json!({"todos": [{"content": " ", "status": "pending"}]}),
                "each todo must have content",
            ),
            (
                json!({"todos": [{"content": "a", "status": "done"}]}),
                "invalid status: done. Must be one of: pending, in_progress, completed, cancelled",
            ),
            (
                json!({"todos": [{"content": "a", "status": "pending", "priority": "urgent"}]}),
                "invalid priority: urgent. Must be one of: high, medium, low",
            ),
        ];
        for (input, error) in cases {
            let out = t.run("todowrite", input.clone()).await;
            assert_eq!(out.error.as_deref(), Some(error), "{input}");
        }
    }
}
