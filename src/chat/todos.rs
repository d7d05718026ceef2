//! The `todoread`/`todowrite` tools keep each session's list in the database.

use futures_util::future::BoxFuture;

use crate::store::Store;
use crate::tools::{Todo, TodoStore, TodoStoreError};

/// [`TodoStore`] on the `todos` table.
pub struct StoreTodos(pub Store);

impl TodoStore for StoreTodos {
    fn get<'a>(&'a self, session_id: &'a str) -> BoxFuture<'a, Result<Vec<Todo>, TodoStoreError>> {
        Box::pin(async move {
            let items = self
                .0
                .todos(session_id)
                .await
                .map_err(|e| TodoStoreError(format!("cannot read the todo list: {e}")))?;
            serde_json::from_value(items)
                .map_err(|e| TodoStoreError(format!("the stored todo list is invalid: {e}")))
        })
    }

    fn replace<'a>(
        &'a self,
        session_id: &'a str,
        todos: Vec<Todo>,
    ) -> BoxFuture<'a, Result<(), TodoStoreError>> {
        Box::pin(async move {
            let items = serde_json::to_value(&todos)
                .map_err(|e| TodoStoreError(format!("cannot write the todo list: {e}")))?;
            self.0
                .set_todos(session_id, &items)
                .await
                .map_err(|e| TodoStoreError(format!("cannot write the todo list: {e}")))
        })
    }
}
