//! The session lifecycle over the WebSocket (`PROTOCOL.md` §4.3/§4.4): each message is one call
//! of the session core ([`crate::sessions`]) and the reply upstream gives. Unknown or invisible
//! ids answer `error not_found` (with the `sessionId`, except for `session.resume`).

use super::dispatch::{ConnCtx, report};
use super::protocol::ClientMessage;
use crate::events::ServerEvent;
use crate::sessions::NewSessionInput;
use crate::store::sessions::SessionPatch;

/// The session messages of [`ClientMessage`]; others are ignored here.
pub async fn handle(ctx: &mut ConnCtx, msg: ClientMessage) {
    use ClientMessage as M;
    match msg {
        M::SessionCreate {
            workspace_id,
            preconfig_id,
            title,
        } => {
            let input = NewSessionInput {
                workspace_id,
                id: None,
                title,
                preconfig_id,
            };
            create(ctx, input).await
        }
        M::SessionResume { session_id } => resume(ctx, &session_id).await,
        M::SessionRename { session_id, title } => rename(ctx, &session_id, &title).await,
        M::SessionClose { session_id } => close(ctx, &session_id).await,
        M::SessionReopen { session_id } => reopen(ctx, &session_id).await,
        M::SessionDelete { session_id } => delete(ctx, &session_id).await,
        M::SessionUpdate {
            session_id,
            preconfig_id,
        } => {
            let patch = SessionPatch {
                preconfig_id: preconfig_id.filter(|p| !p.is_empty()).map(Some),
                ..SessionPatch::default()
            };
            update(ctx, &session_id, patch).await
        }
        M::SessionUpdateModel {
            session_id,
            model_id,
            provider_id,
            variant,
        } => {
            let patch = SessionPatch {
                selected_model: Some(Some(model_id)),
                selected_provider: Some(Some(provider_id)),
                selected_variant: Some(variant.filter(|v| !v.is_empty())),
                ..SessionPatch::default()
            };
            update(ctx, &session_id, patch).await
        }
        _ => {}
    }
}

/// `session.created` reaches the sender with everyone else who may see the workspace.
async fn create(ctx: &mut ConnCtx, input: NewSessionInput) {
    if let Err(e) = ctx.app.sessions.create_session(&ctx.scope, input).await {
        report(ctx, e, None);
    }
}

/// `session.resumed`, then `queue.list` when messages wait, then `ask.pending_sync`.
async fn resume(ctx: &mut ConnCtx, session_id: &str) {
    // Upstream's not_found for resume carries no sessionId.
    let r = match ctx
        .app
        .sessions
        .resume(&ctx.scope, session_id, ctx.id)
        .await
    {
        Ok(r) => r,
        Err(e) => return report(ctx, e, None),
    };
    let session_id = r.resumed.session.id.clone();
    ctx.send(&ServerEvent::SessionResumed(Box::new(r.resumed)));
    if !r.queued.is_empty() {
        ctx.send(&ServerEvent::QueueList {
            session_id: session_id.clone(),
            messages: r.queued,
        });
    }
    ctx.send(&ServerEvent::AskPendingSync {
        session_id,
        requests: r.asks,
    });
}

/// `session.renamed` goes to the participants only (a sender that did not resume hears nothing).
async fn rename(ctx: &mut ConnCtx, session_id: &str, title: &str) {
    if let Err(e) = ctx.app.sessions.rename(&ctx.scope, session_id, title).await {
        report(ctx, e, Some(session_id));
    }
}

async fn close(ctx: &mut ConnCtx, session_id: &str) {
    if let Err(e) = ctx.app.sessions.close(&ctx.scope, session_id, ctx.id).await {
        report(ctx, e, Some(session_id));
    }
}

async fn reopen(ctx: &mut ConnCtx, session_id: &str) {
    if let Err(e) = ctx
        .app
        .sessions
        .reopen(&ctx.scope, session_id, ctx.id)
        .await
    {
        report(ctx, e, Some(session_id));
    }
}

async fn delete(ctx: &mut ConnCtx, session_id: &str) {
    let deleted = ctx
        .app
        .sessions
        .delete_session(&ctx.scope, session_id, Some(ctx.id))
        .await;
    if let Err(e) = deleted {
        report(ctx, e, Some(session_id));
    }
}

/// `session.update` and `session.update_model`: `session.updated` to the sender only.
async fn update(ctx: &mut ConnCtx, session_id: &str, patch: SessionPatch) {
    match ctx
        .app
        .sessions
        .update_session(&ctx.scope, session_id, patch)
        .await
    {
        Ok(s) => ctx.send(&ServerEvent::session_updated(s)),
        Err(e) => report(ctx, e, Some(session_id)),
    }
}
