//! Crash recovery at start-up (call right after `Store::open`, before serving): sessions left
//! running are marked not running, replies left `streaming` become `interrupted`, keeping the
//! text already saved (written at most 300 ms apart while streaming), tool calls left open
//! become `interrupted` (`reason: "error"`), and asks left waiting expire (their tools are
//! gone, so no answer could reach them), and a compaction left under way ends as failed with
//! its session's `compacting` flag cleared (the session is usable again; its history is as
//! before the compaction). Nothing the previous run started is killed: its processes died
//! with it, or belong to no one jean2 knows. Attachment files no session needs are removed
//! ([`sweep_attachments`]).

use crate::store::MessageStatus;
use crate::store::compaction::INTERRUPTED_COMPACTION;
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
    pub tool_calls: usize,
    pub asks: usize,
    pub compactions: usize,
}

pub async fn recover(store: &Store) -> Result<Recovered, StoreError> {
    let mut out = Recovered::default();
    for id in store.streaming_message_ids().await? {
        let update = MessageUpdate {
            // Like a live interrupt (§8.4): an interrupted reply has no `completedAt`.
            status: Some(MessageStatus::Interrupted),
            error: Some(CRASH_MESSAGE.into()),
            ..MessageUpdate::default()
        };
        store.update_message(&id, &update).await?;
        out.messages += 1;
    }
    out.tool_calls = store.interrupt_open_tool_parts(now_ms()).await?;
    out.asks = store.expire_pending_asks().await?;
    let failure = |sid: &str, trigger: &str| {
        super::compaction::failure_outcome(sid, trigger, INTERRUPTED_COMPACTION, now_ms())
    };
    out.compactions = store.recover_compactions(failure, &now_iso()).await?;
    for id in store.running_session_ids().await? {
        let now = now_iso();
        store.set_running(&id, None, &now).await?;
        out.sessions += 1;
    }
    if out != Recovered::default() {
        tracing::warn!(
            sessions = out.sessions,
            messages = out.messages,
            tool_calls = out.tool_calls,
            asks = out.asks,
            compactions = out.compactions,
            "recovered turns cut off by the previous run"
        );
    }
    Ok(out)
}

/// Remove attachment files no session needs any more: folders of sessions deleted while their
/// files were being removed (a crash between the database and the disk) and uploads that never
/// finished. A failure is logged; it never stops the start.
pub async fn sweep_attachments(store: &Store, data_dir: &std::path::Path) {
    let keep = match store.sessions_with_attachments().await {
        Ok(keep) => keep,
        Err(e) => return tracing::warn!(error = %e, "cannot list attachments to sweep"),
    };
    match crate::files::attachments::AttachmentFiles::new(data_dir)
        .sweep(&keep)
        .await
    {
        Ok(0) => {}
        Ok(n) => tracing::info!(entries = n, "removed attachment files no session needs"),
        Err(e) => tracing::warn!(error = %e, "cannot sweep the attachment folder"),
    }
}
