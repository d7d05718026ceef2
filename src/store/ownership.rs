//! Who owns a workspace, for routing events: the hub sends a broadcast about a workspace only to
//! connections whose principal may see it.

use super::{Store, StoreError};

impl Store {
    /// The `owner_id` of a workspace: `None` for the owner's own (or an unknown workspace).
    pub async fn workspace_owner(&self, workspace_id: &str) -> Result<Option<String>, StoreError> {
        let row: Option<(Option<String>,)> =
            sqlx::query_as("SELECT owner_id FROM workspaces WHERE id = ?")
                .bind(workspace_id)
                .fetch_optional(self.pool())
                .await?;
        Ok(row.and_then(|(o,)| o))
    }
}
