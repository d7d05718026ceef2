//! The session lifecycle over the WebSocket (`PROTOCOL.md` §4.3/§4.4): create, resume, rename,
//! close, reopen, delete, update, update_model — each with upstream's reply and audience.
//! Unknown or invisible ids answer `error not_found`.

use serde::Deserialize;
use serde_json::{Value, json};

use super::dispatch::ConnCtx;
use super::protocol::Incoming;
use crate::chat::preconfigs;
use crate::events::event::{Resumed, Transcript, Usage};
use crate::events::{Audience, ServerEvent};
use crate::store::messages::TRANSCRIPT_PAGE;
use crate::store::sessions::{NewSession, SessionPatch};
use crate::store::{Entity, Session, SessionStatus, StoreError};
use crate::time::now_iso;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Create {
    workspace_id: Option<String>,
    preconfig_id: Option<String>,
    title: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SessionRef {
    session_id: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Rename {
    session_id: String,
    title: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Update {
    session_id: String,
    preconfig_id: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct UpdateModel {
    session_id: String,
    model_id: String,
    provider_id: String,
    variant: Option<String>,
}

/// The fields of `msg`, or an `invalid_message` error to the sender (with the `sessionId` the
/// message carried, if any).
fn fields<T: serde::de::DeserializeOwned>(ctx: &ConnCtx, msg: &Incoming) -> Option<T> {
    match msg.fields::<T>() {
        Ok(f) => Some(f),
        Err(e) => {
            let event = match msg.body.get("sessionId").and_then(Value::as_str) {
                Some(sid) => ServerEvent::session_error("invalid_message", e.to_string(), sid),
                None => ServerEvent::error("invalid_message", e.to_string()),
            };
            ctx.send(&event);
            None
        }
    }
}

/// Report a store failure to the sender: `not_found` for a missing session, else `internal`.
fn fail(ctx: &ConnCtx, e: StoreError, session_id: Option<&str>) {
    let (code, message) = match e {
        StoreError::NotFound(_) => ("not_found", "Session not found".to_owned()),
        other => {
            tracing::error!(error = %other, "websocket session handler failed");
            ("internal", "Internal error".to_owned())
        }
    };
    ctx.send(&match session_id {
        Some(sid) => ServerEvent::session_error(code, message, sid),
        None => ServerEvent::error(code, message),
    });
}

/// Queue `event` for the session's participants and for the sender (once) if it is not one.
fn to_participants_and_sender(ctx: &ConnCtx, session_id: &str, event: &ServerEvent) {
    let frame = event.to_frame();
    if !ctx.app.hub.is_participant(ctx.id, session_id) {
        ctx.app
            .hub
            .publish_frame(Audience::Conn(ctx.id), frame.clone());
    }
    ctx.app
        .hub
        .publish_frame(Audience::Session(session_id), frame);
}

pub async fn create(ctx: &mut ConnCtx, msg: &Incoming) {
    let Some(f) = fields::<Create>(ctx, msg) else {
        return;
    };
    let scope = ctx.principal.scope();
    let store = &ctx.app.store;
    let workspace = match f.workspace_id.filter(|w| !w.is_empty()) {
        Some(id) => store.get_workspace(&scope, &id).await,
        None => match store.list_workspaces(&scope).await {
            Ok(list) => list
                .into_iter()
                .next()
                .ok_or(StoreError::NotFound(Entity::Workspace)),
            Err(e) => Err(e),
        },
    };
    let workspace = match workspace {
        Ok(w) => w,
        Err(StoreError::NotFound(_)) => {
            return ctx.send(&ServerEvent::error("not_found", "Workspace not found"));
        }
        Err(e) => return fail(ctx, e, None),
    };
    let mut new = NewSession::new(&workspace.id);
    if let Some(t) = f
        .title
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty())
    {
        new.title = t;
    }
    new.preconfig_id = f.preconfig_id.filter(|p| !p.is_empty());
    preconfigs::apply(&ctx.app.settings.data_dir, &mut new).await;
    match store.create_session(&scope, new, &now_iso()).await {
        Ok(session) => {
            let owner = store
                .workspace_owner(&workspace.id)
                .await
                .unwrap_or_else(|e| {
                    tracing::error!(error = %e, "cannot look up a workspace owner; telling the owner only");
                    Some(String::new())
                });
            let event = ServerEvent::session_created(session);
            ctx.send(&event);
            ctx.app
                .hub
                .publish_owned(Audience::AllExcept(ctx.id), owner.as_deref(), &event);
        }
        Err(e) => fail(ctx, e, None),
    }
}

/// The control state we report: nobody controls a session, so no client is put in
/// "observing" mode.
fn uncontrolled(session_id: &str) -> Value {
    json!({"sessionId": session_id, "controllerClientId": null, "status": "uncontrolled"})
}

pub async fn resume(ctx: &mut ConnCtx, msg: &Incoming) {
    let Some(f) = fields::<SessionRef>(ctx, msg) else {
        return;
    };
    let store = &ctx.app.store;
    // Upstream's not_found for resume carries no sessionId.
    let session = match store
        .get_session(&ctx.principal.scope(), &f.session_id)
        .await
    {
        Ok(s) => s,
        Err(e) => return fail(ctx, e, None),
    };
    let page = match store.newest_messages(&session.id, TRANSCRIPT_PAGE).await {
        Ok(p) => p,
        Err(e) => return fail(ctx, e, None),
    };
    ctx.app.hub.join_session(ctx.id, &session.id);
    let transcript = Transcript::from_page(page, TRANSCRIPT_PAGE);
    let resumed = Resumed {
        messages: transcript.messages.clone(),
        transcript,
        usage: Usage::of(&session),
        is_running: session.running_at.is_some() || ctx.app.runs.is_running(&session.id),
        control: uncontrolled(&session.id),
        session,
    };
    let session_id = resumed.session.id.clone();
    ctx.send(&ServerEvent::SessionResumed(Box::new(resumed)));
    let queued = ctx.app.runs.queued(&session_id);
    if !queued.is_empty() {
        ctx.send(&ServerEvent::QueueList {
            session_id: session_id.clone(),
            items: queued,
        });
    }
    ctx.send(&ServerEvent::AskPendingSync {
        session_id,
        requests: Vec::new(),
    });
}

async fn patch(ctx: &ConnCtx, session_id: &str, patch: SessionPatch) -> Option<Session> {
    let scope = ctx.principal.scope();
    match ctx
        .app
        .store
        .update_session(&scope, session_id, patch, &now_iso())
        .await
    {
        Ok(s) => Some(s),
        Err(e) => {
            fail(ctx, e, Some(session_id));
            None
        }
    }
}

/// `session.renamed` goes to the participants only (a sender that did not resume hears nothing).
pub async fn rename(ctx: &mut ConnCtx, msg: &Incoming) {
    let Some(f) = fields::<Rename>(ctx, msg) else {
        return;
    };
    let title = f.title.trim().to_owned();
    if title.is_empty() {
        let e =
            ServerEvent::session_error("invalid_message", "title must not be empty", &f.session_id);
        return ctx.send(&e);
    }
    let p = SessionPatch {
        title: Some(title),
        ..SessionPatch::default()
    };
    if let Some(s) = patch(ctx, &f.session_id, p).await {
        ctx.app.hub.publish(
            Audience::Session(&f.session_id),
            &ServerEvent::SessionRenamed {
                session: Box::new(s),
            },
        );
    }
}

pub async fn close(ctx: &mut ConnCtx, msg: &Incoming) {
    let Some(f) = fields::<SessionRef>(ctx, msg) else {
        return;
    };
    let p = SessionPatch {
        status: Some(SessionStatus::Closed),
        ..SessionPatch::default()
    };
    if patch(ctx, &f.session_id, p).await.is_some() {
        let event = ServerEvent::SessionClosed {
            session_id: f.session_id.clone(),
        };
        to_participants_and_sender(ctx, &f.session_id, &event);
    }
}

pub async fn reopen(ctx: &mut ConnCtx, msg: &Incoming) {
    let Some(f) = fields::<SessionRef>(ctx, msg) else {
        return;
    };
    let p = SessionPatch {
        status: Some(SessionStatus::Active),
        ..SessionPatch::default()
    };
    if let Some(s) = patch(ctx, &f.session_id, p).await {
        to_participants_and_sender(
            ctx,
            &f.session_id,
            &ServerEvent::SessionReopened {
                session: Box::new(s),
            },
        );
    }
}

pub async fn delete(ctx: &mut ConnCtx, msg: &Incoming) {
    let Some(f) = fields::<SessionRef>(ctx, msg) else {
        return;
    };
    let scope = ctx.principal.scope();
    if let Err(e) = ctx.app.store.delete_session(&scope, &f.session_id).await {
        return fail(ctx, e, Some(&f.session_id));
    }
    // A reply streaming into a deleted session has nowhere to go.
    ctx.app.runs.interrupt(&f.session_id);
    let event = ServerEvent::SessionDeleted {
        session_id: f.session_id.clone(),
    };
    to_participants_and_sender(ctx, &f.session_id, &event);
    ctx.app.hub.drop_session(&f.session_id);
}

/// `session.updated` to the sender only.
pub async fn update(ctx: &mut ConnCtx, msg: &Incoming) {
    let Some(f) = fields::<Update>(ctx, msg) else {
        return;
    };
    let p = SessionPatch {
        preconfig_id: f.preconfig_id.filter(|p| !p.is_empty()).map(Some),
        ..SessionPatch::default()
    };
    if let Some(s) = patch(ctx, &f.session_id, p).await {
        ctx.send(&ServerEvent::session_updated(s));
    }
}

/// `session.updated` with the new model choice, to the sender only.
pub async fn update_model(ctx: &mut ConnCtx, msg: &Incoming) {
    let Some(f) = fields::<UpdateModel>(ctx, msg) else {
        return;
    };
    let p = SessionPatch {
        selected_model: Some(Some(f.model_id)),
        selected_provider: Some(Some(f.provider_id)),
        selected_variant: Some(f.variant.filter(|v| !v.is_empty())),
        ..SessionPatch::default()
    };
    if let Some(s) = patch(ctx, &f.session_id, p).await {
        ctx.send(&ServerEvent::session_updated(s));
    }
}
