//! The chat messages of the WebSocket: `chat.message` and `queue.add` (run now or queue),
//! `queue.remove`, and `session.interrupt`. The turn itself runs in its own task
//! ([`crate::chat`]); these handlers only parse and hand over.

use serde::Deserialize;
use serde_json::Value;

use super::dispatch::ConnCtx;
use super::protocol::Incoming;
use crate::chat;
use crate::events::ServerEvent;
use crate::store::StoreError;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ChatMessage {
    session_id: String,
    content: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct QueueRemove {
    queue_id: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Interrupt {
    session_id: String,
}

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

/// `chat.message` and `queue.add`: the same admission (a `queue.add` while nothing runs simply
/// starts the turn, as the client only believed a turn was running).
pub async fn message(ctx: &mut ConnCtx, msg: &Incoming) {
    let Some(f) = fields::<ChatMessage>(ctx, msg) else {
        return;
    };
    if f.content.trim().is_empty() {
        return ctx.send(&ServerEvent::session_error(
            "invalid_message",
            "content must not be empty",
            &f.session_id,
        ));
    }
    let scope = ctx.principal.scope();
    chat::submit(&ctx.app, ctx.id, scope, &f.session_id, f.content).await;
}

/// Whether the sender may see `session_id`; `false` (not found, or a store failure, logged)
/// means the caller answers `not_found`.
async fn may_see_session(ctx: &ConnCtx, session_id: &str) -> bool {
    match ctx
        .app
        .store
        .get_session(&ctx.principal.scope(), session_id)
        .await
    {
        Ok(_) => true,
        Err(StoreError::NotFound(_)) => false,
        Err(e) => {
            tracing::error!(session.id = %session_id, error = %e, "cannot check session access");
            false
        }
    }
}

/// `queue.remove{queueId}`: `queue.removed` to the session (and the sender), or `not_found`
/// (also for a message queued in a session the sender may not see).
pub async fn queue_remove(ctx: &mut ConnCtx, msg: &Incoming) {
    let Some(f) = fields::<QueueRemove>(ctx, msg) else {
        return;
    };
    let removed = match ctx.app.runs.session_of(&f.queue_id) {
        Some(sid) if may_see_session(ctx, &sid).await => ctx.app.runs.remove(&f.queue_id),
        _ => None,
    };
    match removed {
        Some(q) => {
            let sid = q.item.session_id;
            let event = ServerEvent::QueueRemoved {
                session_id: sid.clone(),
                queue_id: f.queue_id,
            };
            chat::worker::to_session_and(&ctx.app, &sid, ctx.id, &event);
        }
        None => ctx.send(&ServerEvent::error(
            "not_found",
            "Queued message not found (it may have started already)",
        )),
    }
}

/// `session.interrupt`: stop the running turn at once. Nothing running → no answer (the
/// client's stop button may race the end of the turn); a session the sender may not see →
/// `error not_found` with the `sessionId`, and nothing stops.
pub async fn interrupt(ctx: &mut ConnCtx, msg: &Incoming) {
    let Some(f) = fields::<Interrupt>(ctx, msg) else {
        return;
    };
    if !may_see_session(ctx, &f.session_id).await {
        return ctx.send(&ServerEvent::session_error(
            "not_found",
            "Session not found",
            &f.session_id,
        ));
    }
    if !ctx.app.runs.interrupt(&f.session_id) {
        tracing::debug!(session.id = %f.session_id, "interrupt with no running turn");
    }
}
