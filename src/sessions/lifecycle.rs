//! Sessions: create, read, resume, rename, close, reopen, update, delete — with upstream's
//! replies and audiences (`PROTOCOL.md` §4.3). `origin` is the WebSocket connection that asked,
//! when one did: it hears the answer even if it never resumed the session.

use serde_json::{Value, json};

use super::{Error, Sessions};
use crate::chat::preconfigs;
use crate::events::event::{Resumed, Transcript, Usage};
use crate::events::{Audience, ConnId, ServerEvent};
use crate::store::messages::TRANSCRIPT_PAGE;
use crate::store::queue::QueuedMessage;
use crate::store::sessions::{NewSession, SessionPatch};
use crate::store::{Entity, Scope, Session, SessionStatus};
use crate::time::now_iso;

/// A request for a new session.
#[derive(Debug, Clone, Default)]
pub struct NewSessionInput {
    /// `None`: the caller's first workspace (what the WebSocket does when none is named).
    pub workspace_id: Option<String>,
    /// A client-chosen id (REST only; upstream keeps it as given).
    pub id: Option<String>,
    pub title: Option<String>,
    pub preconfig_id: Option<String>,
}

/// What resuming a session gives the connection.
#[derive(Debug)]
pub struct Resumption {
    pub resumed: Resumed,
    /// Messages waiting behind the running turn (sent as `queue.list` when not empty).
    pub queued: Vec<QueuedMessage>,
    /// The open permission asks of the session (`ask.pending_sync`).
    pub asks: Vec<Value>,
}

/// The control state we report: nobody controls a session, so no client is put in
/// "observing" mode.
fn uncontrolled(session_id: &str) -> Value {
    json!({"sessionId": session_id, "controllerClientId": null, "status": "uncontrolled"})
}

fn non_empty(s: Option<String>) -> Option<String> {
    s.map(|t| t.trim().to_owned()).filter(|t| !t.is_empty())
}

impl Sessions {
    pub async fn session(&self, scope: &Scope, id: &str) -> Result<Session, Error> {
        self.store()
            .get_session(scope, id)
            .await
            .map_err(Error::from)
    }

    /// Create a session; `session.created` goes to everyone who may see its workspace (the
    /// creator included).
    pub async fn create_session(
        &self,
        scope: &Scope,
        input: NewSessionInput,
    ) -> Result<Session, Error> {
        let workspace = match non_empty(input.workspace_id) {
            Some(id) => self.workspace(scope, &id).await?,
            None => self
                .store()
                .list_workspaces(scope)
                .await
                .map_err(Error::from)?
                .into_iter()
                .next()
                .ok_or(Error::NotFound(Entity::Workspace))?,
        };
        let mut new = NewSession::new(&workspace.id);
        if let Some(id) = non_empty(input.id) {
            new.id = id;
        }
        if let Some(t) = non_empty(input.title) {
            new.title = t;
        }
        new.preconfig_id = non_empty(input.preconfig_id);
        preconfigs::apply(&self.inner.data_dir, &mut new).await;
        let session = self.store().create_session(scope, new, &now_iso()).await?;
        self.hub().publish(
            Audience::Viewers {
                owner: session.owner_id.as_deref(),
            },
            &ServerEvent::session_created(session.clone()),
        );
        Ok(session)
    }

    /// Make `conn` a participant of the session and give it the newest page of the transcript.
    pub async fn resume(&self, scope: &Scope, id: &str, conn: ConnId) -> Result<Resumption, Error> {
        let session = self.session(scope, id).await?;
        let page = self
            .store()
            .newest_messages(&session.id, TRANSCRIPT_PAGE)
            .await
            .map_err(Error::from)?;
        self.hub().join_session(conn, &session.id);
        let transcript = Transcript::from_page(page, TRANSCRIPT_PAGE);
        let queued = self.store().queued(&session.id).await?;
        let asks = self.chat().permissions().pending_for(&session.id);
        let resumed = Resumed {
            messages: transcript.messages.clone(),
            transcript,
            usage: Usage::of(&session),
            // A compaction holds the session but is no reply: the client shows `compacting`.
            is_running: session.running_at.is_some()
                || (self.chat().is_running(&session.id) && !session.compacting),
            control: uncontrolled(&session.id),
            session,
        };
        Ok(Resumption {
            resumed,
            queued,
            asks,
        })
    }

    /// A page of the transcript: the newest `limit` messages, or those before a sequence.
    pub async fn transcript(
        &self,
        scope: &Scope,
        id: &str,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Transcript, Error> {
        self.session(scope, id).await?;
        let page = match before {
            None => self.store().newest_messages(id, limit).await,
            Some(b) => self.store().messages_before(id, b, limit).await,
        }
        .map_err(Error::from)?;
        Ok(Transcript::from_page(page, limit))
    }

    /// Change fields of a session. No event: the caller answers its sender.
    pub async fn update_session(
        &self,
        scope: &Scope,
        id: &str,
        patch: SessionPatch,
    ) -> Result<Session, Error> {
        self.store()
            .update_session(scope, id, patch, &now_iso())
            .await
            .map_err(Error::from)
    }

    /// Rename; `session.renamed` goes to the session's participants only.
    pub async fn rename(&self, scope: &Scope, id: &str, title: &str) -> Result<Session, Error> {
        let title = title.trim();
        if title.is_empty() {
            return Err(Error::Invalid("title must not be empty".into()));
        }
        let patch = SessionPatch {
            title: Some(title.to_owned()),
            ..SessionPatch::default()
        };
        let s = self.update_session(scope, id, patch).await?;
        self.hub().publish(
            Audience::Session(id),
            &ServerEvent::SessionRenamed {
                session: Box::new(s.clone()),
            },
        );
        Ok(s)
    }

    /// Close (archive); `session.closed` to the participants and `origin`.
    pub async fn close(&self, scope: &Scope, id: &str, origin: ConnId) -> Result<Session, Error> {
        let s = self.set_status(scope, id, SessionStatus::Closed).await?;
        let event = ServerEvent::SessionClosed {
            session_id: id.to_owned(),
        };
        self.hub().publish_to_session_and(id, origin, &event);
        Ok(s)
    }

    /// Reopen; `session.reopened` to the participants and `origin`.
    pub async fn reopen(&self, scope: &Scope, id: &str, origin: ConnId) -> Result<Session, Error> {
        let s = self.set_status(scope, id, SessionStatus::Active).await?;
        let event = ServerEvent::SessionReopened {
            session: Box::new(s.clone()),
        };
        self.hub().publish_to_session_and(id, origin, &event);
        Ok(s)
    }

    async fn set_status(
        &self,
        scope: &Scope,
        id: &str,
        status: SessionStatus,
    ) -> Result<Session, Error> {
        let patch = SessionPatch {
            status: Some(status),
            ..SessionPatch::default()
        };
        self.update_session(scope, id, patch).await
    }

    /// Delete; its turn stops, its queue and attachment files go with it, and the participants
    /// (and `origin`) hear `session.deleted`.
    pub async fn delete_session(
        &self,
        scope: &Scope,
        id: &str,
        origin: Option<ConnId>,
    ) -> Result<(), Error> {
        self.store()
            .delete_session(scope, id)
            .await
            .map_err(Error::from)?;
        self.forget_session(id, origin);
        self.remove_attachments(&[id.to_owned()]).await;
        Ok(())
    }
}
