//! What the server does with each client message: the write-scope check (one place, from
//! [`ClientMessage::needs_write`]), then one arm per type. Handlers translate to the session
//! and chat cores and back; failures of the cores become error events in [`report`].

use crate::app::AppState;
use crate::auth::{Principal, SCOPE_WRITE};
use crate::events::ServerEvent;
use crate::events::hub::{Audience, ConnId};
use crate::sessions::Error;
use crate::store::Scope;

use super::protocol::{self, ClientMessage};
use super::{chat, session, session_ops};

/// Per-connection state the handlers see.
pub struct ConnCtx {
    pub app: AppState,
    pub id: ConnId,
    pub principal: Principal,
    /// What this connection may see (from the principal, computed once).
    pub scope: Scope,
    /// Whether `client.register` was accepted.
    pub registered: bool,
}

impl ConnCtx {
    pub fn new(app: AppState, id: ConnId, principal: Principal) -> Self {
        Self {
            app,
            id,
            scope: principal.scope(),
            principal,
            registered: false,
        }
    }

    /// Queue an event for this connection only (keeps order with broadcasts).
    pub fn send(&self, event: &ServerEvent) {
        self.app.hub.publish(Audience::Conn(self.id), event);
    }

    /// An error for this connection, with the session it is about when there is one.
    pub fn send_error(&self, code: &str, message: impl Into<String>, session_id: Option<&str>) {
        self.send(&match session_id {
            Some(sid) => ServerEvent::session_error(code, message, sid),
            None => ServerEvent::error(code, message),
        });
    }
}

/// Tell the sender why a core operation failed.
pub fn report(ctx: &ConnCtx, e: Error, session_id: Option<&str>) {
    let (code, message) = match e {
        Error::NotFound(_) => ("not_found", e.to_string()),
        Error::Invalid(m) => ("invalid_message", m),
        Error::Forbidden(m) => ("forbidden", m),
        Error::Conflict(m) => ("conflict", m),
        Error::Store(e) => {
            tracing::error!(error = %e, "websocket request failed");
            ("internal", "Internal error".to_owned())
        }
    };
    ctx.send_error(code, message, session_id);
}

/// Handle one text frame.
pub async fn frame(ctx: &mut ConnCtx, text: &str) {
    match protocol::parse(text) {
        Ok(msg) => handle(ctx, msg).await,
        Err(e @ protocol::ParseError::Fields { .. }) => {
            let protocol::ParseError::Fields { session_id, .. } = &e else {
                return;
            };
            ctx.send_error("invalid_message", e.to_string(), session_id.as_deref());
        }
        Err(e) => ctx.send_error("parse_error", e.to_string(), None),
    }
}

async fn handle(ctx: &mut ConnCtx, msg: ClientMessage) {
    if msg.needs_write() && !ctx.principal.allows(SCOPE_WRITE) {
        let message = format!(
            "This token does not have the write scope needed for {}",
            msg.kind()
        );
        return ctx.send_error("forbidden", message, msg.session_id());
    }
    use ClientMessage as M;
    match &msg {
        M::Pong {} => ctx.app.hub.pong(ctx.id),
        M::Register { client } => register(ctx, client.clone()),
        M::SessionCreate { .. }
        | M::SessionResume { .. }
        | M::SessionRename { .. }
        | M::SessionClose { .. }
        | M::SessionReopen { .. }
        | M::SessionDelete { .. }
        | M::SessionUpdate { .. }
        | M::SessionUpdateModel { .. } => session::handle(ctx, msg).await,
        M::ChatMessage(f) | M::QueueAdd(f) => {
            let (content, attachments) = (f.content.clone(), f.attachments.clone());
            let queue_add = matches!(msg, M::QueueAdd(_));
            chat::message(ctx, &f.session_id, content, attachments, queue_add).await
        }
        M::AskResponse {
            tool_call_id,
            request_id,
            response,
        } => chat::ask_response(ctx, tool_call_id, request_id.as_deref(), response).await,
        M::PermissionList {
            workspace_id,
            include_revoked,
        } => chat::permission_list(ctx, workspace_id, *include_revoked).await,
        M::PermissionRevoke { grant_id } => chat::permission_revoke(ctx, grant_id).await,
        M::PermissionRevokeAll { workspace_id } => {
            chat::permission_revoke_all(ctx, workspace_id).await
        }
        M::QueueRemove { queue_id } => chat::queue_remove(ctx, queue_id).await,
        M::SessionInterrupt { session_id } => chat::interrupt(ctx, session_id).await,
        M::NotificationAcknowledge {}
        | M::SandboxRespond {}
        | M::ControlClaim {}
        | M::ControlRelease {}
        | M::ControlRequestTakeover {}
        | M::ControlRespondTakeover {} => {}
        M::SessionGenerateTitle { .. }
        | M::SessionCompact { .. }
        | M::SessionRevert { .. }
        | M::SessionFork { .. }
        | M::SessionEditMessage { .. } => session_ops::handle(ctx, msg).await,
        M::ProviderConnect {} | M::ProviderDisconnect {} => not_implemented(
            ctx,
            &msg,
            "Provider connections are not supported; set JEAN2_LLM_<PROVIDER>_API_KEY in ~/.jean2/.env and run jean2 reload",
        ),
        M::Unknown => ctx.send_error("unknown_message", "Unknown message type", None),
    }
}

/// `error not_implemented` naming the message type (with its `sessionId`, if it had one).
fn not_implemented(ctx: &ConnCtx, msg: &ClientMessage, what: &str) {
    let message = format!("{what} ({})", msg.kind());
    ctx.send_error("not_implemented", message, msg.session_id());
}

fn register(ctx: &mut ConnCtx, client: serde_json::Value) {
    if let Err(message) = protocol::validate_descriptor(&client) {
        return ctx.send(&ServerEvent::ClientRejected {
            code: "invalid_client".into(),
            message,
        });
    }
    ctx.registered = true;
    ctx.send(&ServerEvent::ClientRegistered {
        client,
        connection_id: uuid::Uuid::new_v4().to_string(),
        server_time: crate::time::now_ms(),
    });
}
