//! The session operations over the WebSocket (`PROTOCOL-AGENT.md` §11): `session.revert`,
//! `session.fork`, `session.edit_message`, `session.generate_title` and `session.compact`. Each
//! is one call of the session core ([`crate::sessions`]), which publishes the events; a refusal
//! goes to the sender as an `error` carrying the `sessionId`, so the client's spinner for the
//! operation clears.

use super::dispatch::ConnCtx;
use super::protocol::ClientMessage;
use crate::sessions::Refused;

/// The operation messages of [`ClientMessage`]; others are ignored here.
pub async fn handle(ctx: &mut ConnCtx, msg: ClientMessage) {
    use ClientMessage as M;
    let (sessions, scope, origin) = (&ctx.app.sessions, &ctx.scope, ctx.id);
    let (sid, result) = match msg {
        M::SessionRevert {
            session_id,
            message_id,
        } => {
            let r = sessions
                .revert(scope, &session_id, &message_id, origin)
                .await;
            (session_id, r.map(drop))
        }
        M::SessionFork {
            session_id,
            message_id,
            title,
        } => {
            let r = sessions
                .fork(scope, &session_id, &message_id, title, origin)
                .await;
            (session_id, r.map(drop))
        }
        M::SessionEditMessage {
            session_id,
            message_id,
            content,
        } => {
            let r = sessions
                .edit_message(scope, &session_id, &message_id, content, origin)
                .await;
            (session_id, r)
        }
        M::SessionGenerateTitle { session_id } => {
            let r = sessions.generate_title(scope, &session_id, origin).await;
            (session_id, r)
        }
        M::SessionCompact { session_id } => {
            let r = sessions.compact(scope, &session_id, origin).await;
            (session_id, r)
        }
        _ => return,
    };
    if let Err(Refused { code, message }) = result {
        ctx.send_error(code, message, Some(&sid));
    }
}
