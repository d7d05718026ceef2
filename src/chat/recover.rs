//! Crash recovery at start-up (call right after `Store::open`, before serving): sessions left
//! running are marked not running, and replies left `streaming` become `interrupted`, keeping
//! the text already saved (written at most 300 ms apart while streaming).

use crate::store::MessageStatus;
use crate::store::messages::MessageUpdate;
use crate::store::{Store, StoreError};
use crate::time::{now_iso, now_ms};

/// The `error` text of a reply cut off by a crash or kill.
pub const CRASH_MESSAGE: &str = "Interrupted: the server stopped during this reply";

/// What recovery changed.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Recovered {
    pub sessions: usize,
    pub messages: usize,
}

pub async fn recover(store: &Store) -> Result<Recovered, StoreError> {
    let mut out = Recovered::default();
    for id in store.streaming_message_ids().await? {
        let update = MessageUpdate {
            status: Some(MessageStatus::Interrupted),
            completed_at: Some(now_ms()),
            error: Some(CRASH_MESSAGE.into()),
            ..MessageUpdate::default()
        };
        store.update_message(&id, &update).await?;
        out.messages += 1;
    }
    for id in store.running_session_ids().await? {
        let now = now_iso();
        store.set_running(&id, None, &now).await?;
        out.sessions += 1;
    }
    if out != Recovered::default() {
        tracing::warn!(
            sessions = out.sessions,
            messages = out.messages,
            "recovered turns cut off by the previous run"
        );
    }
    Ok(out)
}
