//! What the server does with each client message type. Unknown types get `unknown_message`
//! (which the client shows as a toast), so every type a normal client sends must be listed here.

use crate::app::AppState;
use crate::auth::Principal;
use crate::events::ServerEvent;
use crate::events::hub::{Audience, ConnId};

use super::protocol::{self, Incoming};

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
        // Sent automatically after every reply; no answer expected.
        "notification.acknowledge" => {}
        "client.register" => register(ctx, &msg),
        _ => ctx.send(&ServerEvent::error(
            "unknown_message",
            "Unknown message type",
        )),
    }
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
