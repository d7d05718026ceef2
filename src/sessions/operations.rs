//! The session operations of `PROTOCOL-AGENT.md` §11: revert, fork, edit and re-run,
//! regenerate the title, compact. Each checks what upstream checks, holds the session while it
//! changes it (none runs during a turn, and no turn starts during one), changes the store in
//! one transaction, and publishes the events in the documented order. A refusal is a
//! [`Refused`]: the wire `code` and message, which the WebSocket sends with the `sessionId`
//! (the client's pending-operation spinner clears only on an error that names the session).

use serde_json::json;

use super::Sessions;
use crate::chat::plan::{self, Refusal};
use crate::events::{ConnId, ServerEvent};
use crate::store::fork::{ForkRequest, Forked};
use crate::store::messages::TRANSCRIPT_PAGE;
use crate::store::session_ops::{Edited, Reverted};
use crate::store::{Entity, Scope, Session, SessionStatus, StoreError};
use crate::time::now_iso;

/// Why an operation was refused: the `code` and `message` of the `error` its sender gets.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct Refused {
    pub code: &'static str,
    pub message: String,
}

fn refused(code: &'static str, message: impl Into<String>) -> Refused {
    Refused {
        code,
        message: message.into(),
    }
}

/// A store failure, logged here and reported as `code`.
fn failed(code: &'static str, e: StoreError) -> Refused {
    match e {
        StoreError::NotFound(Entity::Session) => refused("not_found", "Session not found"),
        e => {
            tracing::error!(error = %e, code, "session operation failed");
            refused(code, "The change could not be saved")
        }
    }
}

fn from_refusal(r: Refusal) -> Refused {
    refused(r.code(), r.to_string())
}

/// Why a session is not free for an operation.
fn busy(session: &Session) -> &'static str {
    if session.compacting {
        "Wait until the compaction has finished"
    } else {
        "Stop the running reply first"
    }
}

impl Sessions {
    async fn visible(&self, scope: &Scope, sid: &str) -> Result<Session, Refused> {
        self.session(scope, sid)
            .await
            .map_err(|_| refused("not_found", "Session not found"))
    }

    async fn publish_state(&self, sid: &str, origin: ConnId) -> Result<(), StoreError> {
        let page = self.store().newest_messages(sid, TRANSCRIPT_PAGE).await?;
        let event = ServerEvent::SessionState {
            session_id: sid.to_owned(),
            messages: page.messages,
        };
        self.hub().publish_to_session_and(sid, origin, &event);
        Ok(())
    }

    /// `session.revert`: delete the messages after `message_id` (all of them when it is the
    /// first); `session.reverted` then `session.state` to the participants and `origin`.
    /// Refused while a turn runs (`revert_error`, a deliberate difference from upstream).
    pub async fn revert(
        &self,
        scope: &Scope,
        sid: &str,
        message_id: &str,
        origin: ConnId,
    ) -> Result<Reverted, Refused> {
        let session = self.visible(scope, sid).await?;
        let claim = self
            .chat()
            .claim(sid)
            .ok_or_else(|| refused("revert_error", busy(&session)))?;
        let reverted = match self.store().revert_session(sid, message_id, false).await {
            Ok(r) => r,
            Err(StoreError::NotFound(Entity::Message)) => {
                return Err(refused("revert_error", "Target message not found"));
            }
            Err(e) => return Err(failed("revert_error", e)),
        };
        let event = ServerEvent::SessionReverted {
            session_id: sid.to_owned(),
            reverted_to: json!({"messageId": reverted.message_id,
                                "messageCount": reverted.message_count}),
            removed: json!({"messageIds": reverted.removed_ids,
                            "partCount": reverted.removed_parts}),
        };
        self.hub().publish_to_session_and(sid, origin, &event);
        let state = self.publish_state(sid, origin).await;
        claim.release().await;
        state.map_err(|e| failed("revert_error", e))?;
        Ok(reverted)
    }

    /// `session.fork`: a new session with the messages up to `message_id`; `session.forked`
    /// (with the newest page of the fork) to the source's participants and `origin`.
    pub async fn fork(
        &self,
        scope: &Scope,
        sid: &str,
        message_id: &str,
        title: Option<String>,
        origin: ConnId,
    ) -> Result<Forked, Refused> {
        let req = ForkRequest {
            source_id: sid.to_owned(),
            message_id: message_id.to_owned(),
            title,
            now: now_iso(),
        };
        let forked = match self.store().fork_session(scope, req).await {
            Ok(f) => f,
            Err(StoreError::NotFound(Entity::Message)) => {
                return Err(refused("fork_error", "Target message not found"));
            }
            Err(StoreError::Conflict(m)) => return Err(refused("fork_error", m)),
            Err(e) => return Err(failed("fork_error", e)),
        };
        let skip = forked
            .messages
            .len()
            .saturating_sub(TRANSCRIPT_PAGE as usize);
        let event = ServerEvent::SessionForked {
            original_session_id: sid.to_owned(),
            forked_session: Box::new(forked.session.clone()),
            messages: forked.messages[skip..].to_vec(),
        };
        self.hub().publish_to_session_and(sid, origin, &event);
        Ok(forked)
    }

    /// `session.edit_message`: the new text in the message's first text part (`part.updated`),
    /// every later message deleted, `session.state`, then a turn on it (§4.5 from step 3) that
    /// does not drain the queue.
    pub async fn edit_message(
        &self,
        scope: &Scope,
        sid: &str,
        message_id: &str,
        content: String,
        origin: ConnId,
    ) -> Result<(), Refused> {
        let session = self.visible(scope, sid).await?;
        if session.status == SessionStatus::Closed {
            let m = "Cannot edit messages in an archived session.";
            return Err(refused("session_closed", m));
        }
        if content.trim().is_empty() {
            return Err(refused("invalid_content", "Content cannot be empty"));
        }
        let Some(claim) = self.chat().claim(sid) else {
            let m = "Cannot edit while the session is streaming.";
            return Err(refused("session_busy", m));
        };
        let plan = plan::prepare(self.chat(), scope, sid)
            .await
            .map_err(from_refusal)?;
        let edited = self
            .store()
            .edit_user_message(sid, message_id, &content)
            .await;
        let part = match edited {
            Ok(Edited::Done { part, .. }) => part,
            Ok(Edited::NotUserMessage) => {
                return Err(refused(
                    "invalid_message",
                    "Only user messages can be edited.",
                ));
            }
            Ok(Edited::NoText) => {
                return Err(refused("invalid_message", "Message has no editable text."));
            }
            Err(e) => return Err(failed("edit_error", e)),
        };
        let event = ServerEvent::PartUpdated {
            session_id: sid.to_owned(),
            part: Box::new(part),
        };
        self.hub().publish_to_session_and(sid, origin, &event);
        self.publish_state(sid, origin)
            .await
            .map_err(|e| failed("edit_error", e))?;
        claim.respond(plan, content, origin);
        Ok(())
    }

    /// `session.generate_title`: a new title from the conversation, even over a hand-set one
    /// (`session.renamed`, or `error title_generation_error`, comes when the model answers).
    pub async fn generate_title(
        &self,
        scope: &Scope,
        sid: &str,
        origin: ConnId,
    ) -> Result<(), Refused> {
        let session = self.visible(scope, sid).await?;
        let chat = self.chat().clone();
        self.chat()
            .spawn(crate::chat::title::regenerate(chat, origin, session));
        Ok(())
    }

    /// `session.compact`: summarise the session now (the events come as it runs; the sender
    /// gets `compaction.complete` or `error compaction_error`).
    pub async fn compact(&self, scope: &Scope, sid: &str, origin: ConnId) -> Result<(), Refused> {
        let session = self.visible(scope, sid).await?;
        if session.parent_id.is_some() {
            let m = "Compaction is only available for main sessions";
            return Err(refused("invalid_session", m));
        }
        if session.compacting {
            let m = "Compaction is already in progress for this session";
            return Err(refused("invalid_session", m));
        }
        let model = plan::model_of(self.chat(), &session)
            .await
            .map_err(|r| refused("compaction_error", r.to_string()))?;
        let claim = self
            .chat()
            .claim(sid)
            .ok_or_else(|| refused("compaction_error", busy(&session)))?;
        claim.compact(origin, model);
        Ok(())
    }
}
