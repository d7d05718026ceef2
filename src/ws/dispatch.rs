//! What the server does with each client message type. Unknown types get `unknown_message`
//! (which the client shows as a toast), so every type a normal client sends must be listed here.

use crate::app::AppState;
use crate::auth::Principal;
use crate::events::ServerEvent;
use crate::events::hub::{Audience, ConnId};

use super::protocol::{self, Incoming};
use super::session;

/// Per-connection state the handlers see.
pub struct ConnCtx {
    pub app: AppState,
    pub id: ConnId,
    pub principal: Principal,
    /// The descriptor from `client.register`, once valid.
    pub client: Option<serde_json::Value>,
    /// Heartbeats sent without a `pong` since.
    pub missed_pongs: u32,
    /// The id reported in `client.registered`.
    pub connection_id: String,
}

impl ConnCtx {
    pub fn new(app: AppState, id: ConnId, principal: Principal) -> Self {
        Self {
            app,
            id,
            principal,
            client: None,
            missed_pongs: 0,
            connection_id: uuid::Uuid::new_v4().to_string(),
        }
    }

    /// Queue an event for this connection only (keeps order with broadcasts).
    pub fn send(&self, event: &ServerEvent) {
        self.app.hub.publish(Audience::Conn(self.id), event);
    }
}

pub async fn handle(ctx: &mut ConnCtx, msg: Incoming) {
    match msg.kind.as_str() {
        "pong" => ctx.missed_pongs = 0,
        "client.register" => register(ctx, &msg),
        "session.create" => session::create(ctx, &msg).await,
        "session.resume" => session::resume(ctx, &msg).await,
        "session.rename" => session::rename(ctx, &msg).await,
        "session.close" => session::close(ctx, &msg).await,
        "session.reopen" => session::reopen(ctx, &msg).await,
        "session.delete" => session::delete(ctx, &msg).await,
        "session.update" => session::update(ctx, &msg).await,
        "session.update_model" => session::update_model(ctx, &msg).await,
        // The chat turn and its queue (issue 4) replace this arm.
        "chat.message" | "queue.add" | "queue.remove" | "session.interrupt" => {
            not_implemented(ctx, &msg, "Chat is not available on this server yet")
        }
        // Routine client traffic with nothing to answer yet: acknowledged silently, because an
        // error here would show the user a toast for something they did not ask for
        // (notification.acknowledge follows every reply; permission.list and control claims
        // come with opening a session; there are no permissions, asks or sandboxes to act on).
        "notification.acknowledge"
        | "permission.list"
        | "permission.revoke"
        | "permission.revoke_all"
        | "ask.response"
        | "sandbox.respond"
        | "session.control.claim"
        | "session.control.release"
        | "session.control.request_takeover"
        | "session.control.respond_takeover" => {}
        // Actions a user asks for explicitly: say plainly that they are not supported.
        "session.generate_title"
        | "session.compact"
        | "session.revert"
        | "session.fork"
        | "session.edit_message" => not_implemented(
            ctx,
            &msg,
            "This session action is not supported by this server yet",
        ),
        "provider.connect" | "provider.disconnect" => not_implemented(
            ctx,
            &msg,
            "Provider connections are not supported; set JEAN2_LLM_<PROVIDER>_API_KEY in ~/.jean2/.env and run jean2 restart",
        ),
        _ => ctx.send(&ServerEvent::error(
            "unknown_message",
            "Unknown message type",
        )),
    }
}

/// `error not_implemented` naming the message type (with its `sessionId`, if it had one).
fn not_implemented(ctx: &ConnCtx, msg: &Incoming, what: &str) {
    let message = format!("{what} ({})", msg.kind);
    let event = match msg
        .body
        .get("sessionId")
        .and_then(serde_json::Value::as_str)
    {
        Some(sid) => ServerEvent::session_error("not_implemented", message, sid),
        None => ServerEvent::error("not_implemented", message),
    };
    ctx.send(&event);
}

fn register(ctx: &mut ConnCtx, msg: &Incoming) {
    let reg: protocol::Register = match msg.fields() {
        Ok(r) => r,
        Err(e) => {
            return ctx.send(&ServerEvent::ClientRejected {
                code: "invalid_client".into(),
                message: e.to_string(),
            });
        }
    };
    if let Err(message) = protocol::validate_descriptor(&reg.client) {
        return ctx.send(&ServerEvent::ClientRejected {
            code: "invalid_client".into(),
            message,
        });
    }
    ctx.client = Some(reg.client.clone());
    ctx.send(&ServerEvent::ClientRegistered {
        client: reg.client,
        connection_id: ctx.connection_id.clone(),
        server_time: crate::time::now_ms(),
    });
}
