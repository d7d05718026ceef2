//! The chat messages of the WebSocket: `chat.message` and `queue.add` (run now or queue),
//! `queue.remove`, and `session.interrupt`. The turn itself runs in the chat core
//! ([`crate::chat`]); these handlers only hand over and report refusals to the sender.

use super::dispatch::{ConnCtx, report};
use crate::chat::worker::submit;
use crate::events::ServerEvent;

/// `chat.message` / `queue.add`.
pub async fn message(ctx: &mut ConnCtx, session_id: &str, content: String) {
    if content.trim().is_empty() {
        return ctx.send_error(
            "invalid_message",
            "content must not be empty",
            Some(session_id),
        );
    }
    let scope = ctx.scope.clone();
    if let Err(refusal) = submit(&ctx.app.chat, ctx.id, scope, session_id, content).await {
        ctx.send(&refusal.event());
    }
}

/// `queue.remove{queueId}`: `queue.removed` to the session (and the sender), or `not_found`
/// (also for a message queued in a session the sender may not see).
pub async fn queue_remove(ctx: &mut ConnCtx, queue_id: &str) {
    let chat = &ctx.app.chat;
    let visible = match chat.queued_in(queue_id) {
        Some(sid) => ctx.app.sessions.session(&ctx.scope, &sid).await.is_ok(),
        None => false,
    };
    match visible.then(|| chat.unqueue(queue_id)).flatten() {
        Some(sid) => {
            let event = ServerEvent::QueueRemoved {
                session_id: sid.clone(),
                queue_id: queue_id.to_owned(),
            };
            ctx.app.hub.publish_to_session_and(&sid, ctx.id, &event);
        }
        None => ctx.send_error(
            "not_found",
            "Queued message not found (it may have started already)",
            None,
        ),
    }
}

/// `session.interrupt`: stop the running turn at once. Nothing running → no answer (the
/// client's stop button may race the end of the turn); a session the sender may not see →
/// `error not_found` with the `sessionId`, and nothing stops.
pub async fn interrupt(ctx: &mut ConnCtx, session_id: &str) {
    if let Err(e) = ctx.app.sessions.session(&ctx.scope, session_id).await {
        return report(ctx, e, Some(session_id));
    }
    if !ctx.app.chat.interrupt(session_id) {
        tracing::debug!(session.id = %session_id, "interrupt with no running turn");
    }
}
