//! The chat messages of the WebSocket: `chat.message` and `queue.add` (run now or queue),
//! `queue.remove`, `session.interrupt`, and the permission messages (`ask.response`,
//! `permission.list|revoke|revoke_all`). The turn itself runs in the chat core
//! ([`crate::chat`]); these handlers hand over and report to the sender.

use serde_json::{Value, json};

use super::dispatch::{ConnCtx, report};
use crate::chat::worker::submit;
use crate::events::ServerEvent;

/// `chat.message` / `queue.add` (`queue_add`). Empty content is refused, but a `chat.message`
/// that carries attachments may have none (`PROTOCOL-AGENT.md` §12); `queue.add` needs content
/// even then (§10).
pub async fn message(
    ctx: &mut ConnCtx,
    session_id: &str,
    content: String,
    attachments: Option<Value>,
    queue_add: bool,
) {
    let attached = !crate::chat::attachments::ids(attachments.as_ref()).is_empty();
    if content.trim().is_empty() && (queue_add || !attached) {
        return ctx.send_error("invalid_content", "Content cannot be empty", None);
    }
    let scope = ctx.scope.clone();
    let chat = &ctx.app.chat;
    if let Err(refusal) = submit(chat, ctx.id, scope, session_id, content, attachments).await {
        ctx.send(&refusal.event());
    }
}

/// `queue.remove{queueId}`: `queue.removed` to the sender, or `not_found` (also for a message
/// queued in a session the sender may not see).
pub async fn queue_remove(ctx: &mut ConnCtx, queue_id: &str) {
    let store = &ctx.app.store;
    let visible = match store.queued_message(queue_id).await {
        Ok(Some(m)) => ctx
            .app
            .sessions
            .session(&ctx.scope, &m.session_id)
            .await
            .is_ok(),
        Ok(None) => false,
        Err(e) => return report(ctx, e.into(), None),
    };
    let removed = match visible {
        true => store.unqueue(queue_id).await,
        false => Ok(None),
    };
    match removed {
        Ok(Some(m)) => ctx.send(&ServerEvent::QueueRemoved {
            session_id: m.session_id,
            queue_id: queue_id.to_owned(),
        }),
        Ok(None) => ctx.send_error(
            "not_found",
            "Queued message not found (it may have started already)",
            None,
        ),
        Err(e) => report(ctx, e.into(), None),
    }
}

/// `session.interrupt`: stop the running turn at once and tell the participants what stopped
/// (`session.interrupted`, with empty lists when nothing ran). An unknown session, or one the
/// sender may not see, is `error not_found` without a `sessionId`, and nothing stops.
pub async fn interrupt(ctx: &mut ConnCtx, session_id: &str) {
    if let Err(e) = ctx.app.sessions.session(&ctx.scope, session_id).await {
        return report(ctx, e, None);
    }
    let stopped = ctx.app.chat.interrupt(session_id);
    let event = ServerEvent::SessionInterrupted {
        session_id: session_id.to_owned(),
        result: json!({
            "sessionId": session_id,
            "success": true,
            "cascadedTo": [],
            "interruptedTools": stopped.interrupted_tools,
            "rejectedAsks": stopped.rejected_asks,
        }),
    };
    ctx.app
        .hub
        .publish_to_session_and(session_id, ctx.id, &event);
}

/// `ask.response`: hand the answer to the waiting tool. Only a connection that resumed the
/// ask's session may answer; anything unmatched is ignored silently, as upstream.
pub fn ask_response(ctx: &ConnCtx, tool_call_id: &str, request_id: Option<&str>, response: &Value) {
    let permissions = ctx.app.chat.permissions();
    let Some(session) = permissions.session_of(request_id, tool_call_id) else {
        return;
    };
    if !ctx.app.hub.is_participant(ctx.id, &session) {
        ctx.send(&ServerEvent::AskResponseRejected(json!({
            "sessionId": session,
            "toolCallId": tool_call_id,
            "requestId": request_id,
            "code": "not_allowed",
            "message": "Resume the session before answering its questions",
        })));
        return;
    }
    permissions.answer(request_id, tool_call_id, response);
}

/// `permission.list` (to the sender): the workspace's grants, newest first.
pub async fn permission_list(ctx: &mut ConnCtx, workspace_id: &str, include_revoked: bool) {
    if let Err(e) = ctx.app.sessions.workspace(&ctx.scope, workspace_id).await {
        return report(ctx, e, None);
    }
    match ctx
        .app
        .chat
        .permissions()
        .list(workspace_id, include_revoked)
        .await
    {
        Ok(grants) => ctx.send(&ServerEvent::PermissionList {
            workspace_id: workspace_id.to_owned(),
            grants: grants
                .into_iter()
                .filter_map(|g| serde_json::to_value(g).ok())
                .collect(),
        }),
        Err(e) => report(ctx, e.into(), None),
    }
}

/// `permission.revoke` → `permission.revoked` (also for an unknown id, as upstream).
pub async fn permission_revoke(ctx: &mut ConnCtx, grant_id: &str) {
    let scope = ctx.scope.clone();
    if let Err(e) = ctx.app.chat.permissions().revoke(&scope, grant_id).await {
        return report(ctx, e.into(), None);
    }
    ctx.send(&ServerEvent::PermissionRevoked {
        grant_id: grant_id.to_owned(),
    });
}

/// `permission.revoke_all` → `permission.all_revoked` with the count.
pub async fn permission_revoke_all(ctx: &mut ConnCtx, workspace_id: &str) {
    if let Err(e) = ctx.app.sessions.workspace(&ctx.scope, workspace_id).await {
        return report(ctx, e, None);
    }
    match ctx.app.chat.permissions().revoke_all(workspace_id).await {
        Ok(count) => ctx.send(&ServerEvent::PermissionAllRevoked {
            workspace_id: workspace_id.to_owned(),
            count,
        }),
        Err(e) => report(ctx, e.into(), None),
    }
}
