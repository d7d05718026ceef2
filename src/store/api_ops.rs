//! The public API of the store for the session operations (compaction, fork, revert, edit):
//! declared once here and dispatched to the backend in use, as in [`super::api`].

use super::compaction::{CompactionDone, CompactionSource};
use super::fork::{ForkRequest, Forked};
use super::messages::{Message, MessageWithParts, Part};
use super::session_ops::{Edited, Reverted};
use super::sessions::Session;
use super::{Backend, Scope, Store, StoreError};

super::dispatch! {
    // compaction.rs
    /// What the model receives of a session: the newest `limit` messages from the latest
    /// boundary's trigger on (every message when the session was never compacted), ascending.
    fn context_messages(
        &self,
        session_id: &str,
        limit: u32,
    ) -> Result<Vec<MessageWithParts>, StoreError>;
    /// What the next compaction of a session summarises (the newest `limit` messages after the
    /// latest summary, and that summary's text).
    fn compaction_source(
        &self,
        session_id: &str,
        limit: u32,
    ) -> Result<CompactionSource, StoreError>;
    /// Set or clear a session's `compacting` flag; the session as it now is.
    fn set_compacting(&self, session_id: &str, on: bool, now: &str) -> Result<Session, StoreError>;
    /// Insert a message and its parts together (a compaction trigger).
    fn create_message_with_parts(
        &self,
        message: &Message,
        parts: &[Part],
    ) -> Result<Message, StoreError>;
    /// Write a successful compaction: the summary and its text, `compactedAt` on the pruned
    /// tool parts, the summary call's usage as the session's tokens, the flag cleared.
    fn finish_compaction(&self, done: CompactionDone) -> Result<Session, StoreError>;
    /// Write a failed compaction's outcome (its message and parts) and clear the flag.
    fn fail_compaction(
        &self,
        message: &Message,
        parts: &[Part],
        now: &str,
    ) -> Result<Session, StoreError>;
    // fork.rs
    /// Fork as `req` says. `NotFound(Session)` for a source `scope` cannot see,
    /// `NotFound(Message)` for a message that is not the source's, and `Conflict` when a copied
    /// reply is still streaming; in every case nothing is written.
    fn fork_session(&self, scope: &Scope, req: ForkRequest) -> Result<Forked, StoreError>;
    // session_ops.rs
    /// Delete every message of `session_id` after `message_id`; when it is the session's first
    /// message and `keep_target` is false, delete it too (a revert to the first message clears
    /// the session). `NotFound(Message)` when the message is not in the session.
    fn revert_session(
        &self,
        session_id: &str,
        message_id: &str,
        keep_target: bool,
    ) -> Result<Reverted, StoreError>;
    /// Replace the text of the first text part of user message `message_id` and delete every
    /// message after it, in one transaction.
    fn edit_user_message(
        &self,
        session_id: &str,
        message_id: &str,
        text: &str,
    ) -> Result<Edited, StoreError>;
}

impl Store {
    /// At start-up: every session left `compacting` gets the flag cleared, and each of its
    /// triggers without an outcome gets the failure `failure(session, trigger)` builds. The
    /// sessions recovered.
    pub async fn recover_compactions(
        &self,
        failure: impl Fn(&str, &str) -> (Message, Vec<Part>) + Send + 'static,
        now: &str,
    ) -> Result<usize, StoreError> {
        match &self.0 {
            Backend::Sqlite(b) => b.recover_compactions(failure, now).await,
            Backend::Postgres(b) => b.recover_compactions(failure, now).await,
        }
    }
}
