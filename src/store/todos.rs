//! Each session's todo list (`todos`), as the `todoread`/`todowrite` tools keep it: one JSON
//! array per session, replaced whole.

use serde_json::Value;

use super::error::bad_json;
use super::rows::{one, str};
use super::{Store, StoreError};

impl Store {
    /// A session's todo list (`[]` when it has none).
    pub async fn todos(&self, session_id: &str) -> Result<Value, StoreError> {
        let sid = session_id.to_owned();
        let items = self
            .read(move |c| {
                one(
                    &mut *c.prepare_cached("SELECT items FROM todos WHERE session_id = ?1")?,
                    [sid],
                    |r| {
                        serde_json::from_str::<Value>(str(r, 0)?)
                            .map_err(|e| bad_json("todos.items")(e).into())
                    },
                )
            })
            .await?;
        Ok(items.unwrap_or_else(|| Value::Array(Vec::new())))
    }

    /// Replace a session's todo list.
    pub async fn set_todos(&self, session_id: &str, items: &Value) -> Result<(), StoreError> {
        let items = items.to_string();
        self.exec(
            "INSERT INTO todos (session_id, items) VALUES (?1, ?2) \
             ON CONFLICT(session_id) DO UPDATE SET items = excluded.items",
            (session_id.to_owned(), items),
        )
        .await
        .map(|_| ())
    }
}
