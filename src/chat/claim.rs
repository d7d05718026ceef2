//! A session operation's hold on a session (`PROTOCOL-AGENT.md` §11): the same worker slot a
//! turn takes, so no turn starts while a revert, an edit or a compaction runs (a chat message
//! meanwhile is queued, `queue.added`), and none of them starts while a turn runs. The claim
//! ends in one of three ways: given back ([`Claim::release`]; what was queued meanwhile waits
//! for the next turn, as after any turn that does not drain), handed to a turn on an edited
//! message ([`Claim::respond`]), or to a compaction ([`Claim::compact`]). Dropped, it is given
//! back.

use tokio_util::sync::CancellationToken;

use super::Chat;
use super::compaction::{self, Reason};
use super::plan::Plan;
use super::worker::{self, Job};
use crate::events::{Audience, ConnId, ServerEvent};
use crate::llm::registry::ResolvedModel;

/// The hold; see the module doc.
pub struct Claim {
    chat: Chat,
    sid: String,
    /// Cancelled by `session.interrupt` (and shutdown); `None` once handed on.
    cancel: Option<CancellationToken>,
}

impl Chat {
    /// Hold `session_id` for an operation; `None` while a turn or another operation runs.
    pub fn claim(&self, session_id: &str) -> Option<Claim> {
        let cancel = self.runs().try_start(session_id)?;
        Some(Claim {
            chat: self.clone(),
            sid: session_id.to_owned(),
            cancel: Some(cancel),
        })
    }
}

impl Claim {
    fn take(&mut self) -> (Chat, String, CancellationToken) {
        let cancel = self.cancel.take().unwrap_or_default();
        (self.chat.clone(), self.sid.clone(), cancel)
    }

    /// Give the session back.
    pub async fn release(mut self) {
        let (chat, sid, _) = self.take();
        worker::stop(&chat, &sid).await;
    }

    /// Run a turn on the session's last user message as stored (just edited), from step 3 of
    /// `PROTOCOL.md` §4.5; the queue does not drain after it (§10).
    pub fn respond(mut self, plan: Plan, content: String, origin: ConnId) {
        let (chat, sid, cancel) = self.take();
        let job = Job {
            plan,
            content,
            origin: Some(origin),
            attachments: None,
            new_message: false,
            drains: false,
        };
        let task = worker::work(chat.clone(), sid, Some(job), cancel);
        chat.spawn(task);
    }

    /// Compact the session with `model` at `origin`'s request: `compaction.complete` (or
    /// `error compaction_error` with the `sessionId`) to it; then the queue drains.
    pub fn compact(mut self, origin: ConnId, model: ResolvedModel) {
        let (chat, sid, cancel) = self.take();
        let c = chat.clone();
        chat.spawn(async move {
            let event = match compaction::compact(&c, &sid, &model, Reason::Manual, &cancel).await {
                Ok(tokens) => ServerEvent::CompactionComplete {
                    session_id: sid.clone(),
                    tokens_used: tokens,
                },
                Err(f) => ServerEvent::session_error("compaction_error", f.message, &sid),
            };
            c.hub().publish(Audience::Conn(origin), &event);
            worker::work(c, sid, None, cancel).await;
        });
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        if self.cancel.is_some() {
            let (chat, sid, _) = self.take();
            let c = chat.clone();
            chat.spawn(async move { worker::stop(&c, &sid).await });
        }
    }
}
