//! The public API of the store for the chat side (workspaces, sessions, messages, the agent's
//! tables): each method is declared once here and dispatched to the backend in use, whose own
//! method of the same name (`impl Sqlite` in the aggregate files, `impl Postgres` in `pg/`)
//! does the work. A `match` on two variants costs nothing next to a query.

use serde_json::{Map, Value};

use super::attachments::Attachment;
use super::grants::Grant;
use super::messages::{Message, MessageUpdate, MessageWithParts, Part, TranscriptPage};
use super::pins::{PinRefusal, PinnedMessage};
use super::queue::{QueueError, QueuedMessage};
use super::sessions::{NewSession, Session, SessionPage, SessionPatch, SessionQuery, TokenTotals};
use super::workspaces::{NewWorkspace, Workspace, WorkspacePatch};
use super::{Scope, SessionPageJson, Store, StoreError, WorkspacesJson};

super::dispatch! {
    // sessions.rs
    /// One session, or `NotFound(Session)` if it does not exist or `scope` cannot see it.
    fn get_session(&self, scope: &Scope, id: &str) -> Result<Session, StoreError>;
    /// Sessions still marked running (e.g. left so by a crash), for recovery at start.
    fn running_session_ids(&self) -> Result<Vec<String>, StoreError>;
    // session_writes.rs
    /// Insert a session at time `now` (ISO), in one statement that also checks that the
    /// workspace exists and `scope` sees it (`NotFound(Workspace)` otherwise). A taken id is
    /// [`StoreError::Conflict`].
    fn create_session(
        &self,
        scope: &Scope,
        new: NewSession,
        now: &str,
    ) -> Result<Session, StoreError>;
    /// Write the fields `patch` gives (and `updatedAt`) in one statement; the others keep
    /// whatever they hold at that moment. Token totals and `runningAt` are not touched.
    fn update_session(
        &self,
        scope: &Scope,
        id: &str,
        patch: SessionPatch,
        now: &str,
    ) -> Result<Session, StoreError>;
    /// Set the title only if the session still has a default one (trimmed, case-insensitive
    /// `New Session`, `New` or empty: `chat::title::is_default_title`), in one statement, and
    /// bump `updatedAt`. `None` when nothing was written: the title was changed meanwhile, or
    /// the session is gone.
    fn set_title_if_default(
        &self,
        id: &str,
        title: &str,
        now: &str,
    ) -> Result<Option<Session>, StoreError>;
    /// Delete a session (its messages and parts go with it).
    fn delete_session(&self, scope: &Scope, id: &str) -> Result<(), StoreError>;
    /// Mark a turn as running (`Some(iso)`) or finished (`None`); bumps `updatedAt` to `now`.
    fn set_running(
        &self,
        id: &str,
        running_at: Option<&str>,
        now: &str,
    ) -> Result<Session, StoreError>;
    /// Write a turn's last step usage over the session's token fields: it stands for the
    /// current context size (`PROTOCOL-AGENT.md` §8.3), not a running sum.
    fn set_session_tokens(
        &self,
        id: &str,
        t: TokenTotals,
        now: &str,
    ) -> Result<Session, StoreError>;
    // sessions_list.rs
    /// List sessions, newest `updatedAt` first (ties: larger id first). With `root_only`, the
    /// children of the page's roots are appended after the page (same order).
    fn list_sessions(&self, scope: &Scope, q: &SessionQuery) -> Result<SessionPage, StoreError>;
    /// The distinct tags of a workspace's sessions that `scope` sees, sorted.
    fn session_tags(&self, scope: &Scope, workspace_id: &str) -> Result<Vec<String>, StoreError>;
    // sessions_json.rs
    /// [`Store::list_sessions`], serialized: the same rows in the same order, as JSON bytes.
    fn list_sessions_json(
        &self,
        scope: &Scope,
        q: &SessionQuery,
    ) -> Result<SessionPageJson, StoreError>;
    // workspaces.rs
    /// Every workspace `scope` sees, oldest first.
    fn list_workspaces(&self, scope: &Scope) -> Result<Vec<Workspace>, StoreError>;
    /// One workspace, or `NotFound(Workspace)` if it does not exist or `scope` cannot see it.
    fn get_workspace(&self, scope: &Scope, id: &str) -> Result<Workspace, StoreError>;
    /// Insert a workspace owned by `scope`'s user (none for [`Scope::All`]) at time `now` (ISO).
    fn create_workspace(
        &self,
        scope: &Scope,
        new: NewWorkspace,
        now: &str,
    ) -> Result<Workspace, StoreError>;
    /// Write the fields `patch` gives (and `updatedAt`) in one transaction, never a row read
    /// earlier; returns the workspace as it now is.
    fn update_workspace(
        &self,
        scope: &Scope,
        id: &str,
        patch: WorkspacePatch,
        now: &str,
    ) -> Result<Workspace, StoreError>;
    /// Delete a workspace and (by cascade) its sessions, messages and parts. Returns the ids
    /// of the sessions it removed.
    fn delete_workspace(&self, scope: &Scope, id: &str) -> Result<Vec<String>, StoreError>;
    /// Whether any workspace is visible to `scope`.
    fn has_workspaces(&self, scope: &Scope) -> Result<bool, StoreError>;
    /// The `owner_id` of a workspace: `None` for the owner's own (or an unknown workspace).
    /// (Sessions and workspaces read from the store carry it as `owner_id` already.)
    fn workspace_owner(&self, workspace_id: &str) -> Result<Option<String>, StoreError>;
    // workspaces_json.rs
    /// [`Store::list_workspaces`], serialized: the same workspaces in the same order.
    fn list_workspaces_json(&self, scope: &Scope) -> Result<WorkspacesJson, StoreError>;
    // messages.rs
    /// Insert `msg`, allocating its `sequence` as MAX+1 in its session in the same statement
    /// (on the one writer, so two messages never get the same number).
    fn create_message(&self, msg: &Message) -> Result<Message, StoreError>;
    /// One message.
    fn get_message(&self, id: &str) -> Result<Message, StoreError>;
    /// Update an assistant message's end state; returns the message as stored.
    fn update_message(&self, id: &str, u: &MessageUpdate) -> Result<Message, StoreError>;
    /// Assistant messages still `streaming` (left so by a crash), for recovery at start.
    fn streaming_message_ids(&self) -> Result<Vec<String>, StoreError>;
    /// One message with its parts.
    fn message_with_parts(&self, id: &str) -> Result<MessageWithParts, StoreError>;
    /// The newest `limit` messages of a session, ascending.
    fn newest_messages(&self, session_id: &str, limit: u32) -> Result<TranscriptPage, StoreError>;
    /// The `limit` messages right before `before` (a sequence), ascending.
    fn messages_before(
        &self,
        session_id: &str,
        before: i64,
        limit: u32,
    ) -> Result<TranscriptPage, StoreError>;
    // parts.rs
    /// Insert a part (its message must exist).
    fn create_part(&self, part: &Part) -> Result<(), StoreError>;
    /// At start-up: every tool part a turn left `pending` or `running` ends `interrupted` with
    /// `reason: "error"` (its turn is gone; nothing it started is touched). How many.
    fn interrupt_open_tool_parts(&self, now_ms: i64) -> Result<usize, StoreError>;
    /// Replace a part's data (e.g. the text streamed so far).
    fn update_part_data(&self, part_id: &str, data: &Map<String, Value>) -> Result<(), StoreError>;
    // queue.rs
    /// Queue a message at the end of its session's queue, unless `max` already wait.
    fn enqueue(
        &self,
        session_id: &str,
        content: &str,
        attachments: Option<Value>,
        created_at: i64,
        max: u32,
    ) -> Result<QueuedMessage, QueueError>;
    /// A session's queue, in order.
    fn queued(&self, session_id: &str) -> Result<Vec<QueuedMessage>, StoreError>;
    /// Take the first queued message of a session off the queue.
    fn take_queued(&self, session_id: &str) -> Result<Option<QueuedMessage>, StoreError>;
    /// Remove a queued message by id; returns it if it was queued.
    fn unqueue(&self, queue_id: &str) -> Result<Option<QueuedMessage>, StoreError>;
    /// The queued message with this id, if it still waits.
    fn queued_message(&self, queue_id: &str) -> Result<Option<QueuedMessage>, StoreError>;
    // asks.rs
    /// Record an open ask.
    fn add_pending_ask(
        &self,
        request_id: &str,
        session_id: &str,
        tool_call_id: &str,
        request: &Value,
        created_at: i64,
        expires_at: i64,
    ) -> Result<(), StoreError>;
    /// Close an ask with how it ended (`approved`, `denied`, `expired`, `cancelled`).
    fn close_pending_ask(&self, request_id: &str, status: &str) -> Result<(), StoreError>;
    /// The open asks of a session (their `ask.request` bodies), oldest first.
    fn pending_asks(&self, session_id: &str) -> Result<Vec<Value>, StoreError>;
    /// At start-up: every ask still pending belonged to a turn that no longer runs.
    fn expire_pending_asks(&self) -> Result<usize, StoreError>;
    // grants.rs
    /// Store new grants (one transaction).
    fn add_grants(&self, grants: Vec<Grant>) -> Result<(), StoreError>;
    /// A workspace's grants, newest first; revoked ones only when asked.
    fn grants(&self, workspace_id: &str, include_revoked: bool) -> Result<Vec<Grant>, StoreError>;
    /// Revoke one grant of a workspace `scope` sees (an unknown, invisible or already revoked
    /// id changes nothing).
    fn revoke_grant(&self, scope: &Scope, grant_id: &str, now: &str) -> Result<(), StoreError>;
    /// Revoke every live grant of a workspace; how many.
    fn revoke_all_grants(&self, workspace_id: &str, now: &str) -> Result<u64, StoreError>;
    // todos.rs
    /// A session's todo list (`[]` when it has none).
    fn todos(&self, session_id: &str) -> Result<Value, StoreError>;
    /// Replace a session's todo list.
    fn set_todos(&self, session_id: &str, items: &Value) -> Result<(), StoreError>;
}

super::dispatch! {
    // attachments.rs
    /// Record an uploaded file. `NotFound(Session)` when its session is gone (deleted while
    /// the file was being received).
    fn create_attachment(&self, a: &Attachment) -> Result<(), StoreError>;
    /// The attachment with this id, whichever session it belongs to.
    fn attachment(&self, id: &str) -> Result<Option<Attachment>, StoreError>;
    /// A session's attachments, newest first.
    fn session_attachments(&self, session_id: &str) -> Result<Vec<Attachment>, StoreError>;
    /// The ids of the sessions that have attachments (for the sweep of orphaned folders).
    fn sessions_with_attachments(&self) -> Result<Vec<String>, StoreError>;
    // pins.rs
    /// A workspace's pins, newest first.
    fn pinned_messages(&self, workspace_id: &str) -> Result<Vec<PinnedMessage>, StoreError>;
    /// Pin an assistant message of `session_id` in `workspace_id` (created at `now_ms`), or
    /// return the pin it already has.
    fn pin_message(
        &self,
        workspace_id: &str,
        session_id: &str,
        message_id: &str,
        now_ms: i64,
    ) -> Result<Result<PinnedMessage, PinRefusal>, StoreError>;
    /// Unpin a message of a workspace; whether it was pinned.
    fn unpin_message(&self, workspace_id: &str, message_id: &str) -> Result<bool, StoreError>;
}
