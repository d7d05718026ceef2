//! One task per WebSocket: writes what the hub queued for it (everything waiting at once, as one
//! batch and one flush), reads client frames, and closes when the hub asks (queue overflow,
//! heartbeat timeout, shutdown, a revoked credential), when its access token expires (4001),
//! on oversized frames (1009) and when the client goes away.
//!
//! An idle connection is this task parked on two wake-ups (its queue and its socket), plus a
//! timer only for connections opened with an access token. The heartbeat is one task for all
//! connections ([`super::ticker`]).

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, close_code};
use futures_util::{SinkExt, StreamExt};
use tokio::time::{Instant, Sleep, sleep_until, timeout};

use super::dispatch::{self, ConnCtx};
use super::ticker;
use crate::app::AppState;
use crate::auth::Principal;
use crate::events::hub::{CloseReason, Frame, Link};
use crate::events::{Credential, ServerEvent};

/// A client that does not take a frame within this time is gone.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a close frame may take to reach a client whose socket may be full.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(1);

pub async fn run(socket: WebSocket, app: AppState, principal: Principal, credential: Credential) {
    let hub = app.hub.clone();
    if hub.claim_heartbeat() {
        tokio::spawn(ticker::run(app.clone()));
    }
    let expiry = credential
        .expires_at_ms()
        .map(|at_ms| deadline(at_ms, app.auth.clock().now_ms()));
    let reg = hub.register(principal.scope(), credential);
    let conn_id = reg.id;
    tracing::debug!(ws.conn = conn_id, "websocket connected");
    let ctx = ConnCtx::new(app, conn_id, principal);
    let reason = serve(socket, ctx, reg.link, expiry).await;
    hub.unregister(conn_id);
    tracing::debug!(ws.conn = conn_id, reason, "websocket closed");
}

/// The instant a token valid until `at_ms` (Unix ms) expires, as seen at `now_ms`.
fn deadline(at_ms: i64, now_ms: i64) -> Instant {
    let left = u64::try_from(at_ms.saturating_sub(now_ms)).unwrap_or(0);
    Instant::now() + Duration::from_millis(left)
}

async fn serve(
    mut socket: WebSocket,
    mut ctx: ConnCtx,
    link: Arc<Link>,
    expiry: Option<Instant>,
) -> &'static str {
    // Boxed and only for access tokens: most connections carry no timer.
    let mut expiry: Option<Pin<Box<Sleep>>> = expiry.map(|t| Box::pin(sleep_until(t)));
    loop {
        match link.take() {
            Err(reason) => {
                send_close(&mut socket, reason.code(), reason.text(), SEND_TIMEOUT).await;
                return reason.text();
            }
            Ok(batch) if !batch.is_empty() => {
                let n = batch.len();
                // A full socket must not delay a close the hub asks for.
                tokio::select! {
                    biased;
                    reason = link.closing() => {
                        send_close(&mut socket, reason.code(), reason.text(), CLOSE_TIMEOUT).await;
                        return reason.text();
                    }
                    sent = timeout(SEND_TIMEOUT, write(&mut socket, batch)) => {
                        if !matches!(sent, Ok(Ok(()))) {
                            return "send failed";
                        }
                    }
                }
                link.written(n);
                continue;
            }
            Ok(_) => {}
        }
        tokio::select! {
            biased;
            () = link.changed() => {}
            () = expired(&mut expiry) => {
                link.close(CloseReason::Expired);
            }
            incoming = socket.next() => {
                // Boxed: the handler futures (store queries) are ~1.8 KB and would otherwise
                // be part of every idle connection's task (bench-ws.sh).
                if let Some(end) = Box::pin(receive(&mut ctx, incoming)).await {
                    if end == "message too big" {
                        send_close(&mut socket, close_code::SIZE, "Message too big", SEND_TIMEOUT).await;
                    }
                    return end;
                }
            }
        }
    }
}

/// Write a batch with one flush at the end (frames go out as the write buffer fills).
async fn write(socket: &mut WebSocket, batch: VecDeque<Frame>) -> Result<(), axum::Error> {
    for frame in batch {
        socket.feed(Message::Text(frame)).await?;
    }
    socket.flush().await
}

async fn expired(expiry: &mut Option<Pin<Box<Sleep>>>) {
    match expiry {
        Some(sleep) => sleep.as_mut().await,
        None => std::future::pending().await,
    }
}

async fn send_close(socket: &mut WebSocket, code: u16, reason: &'static str, within: Duration) {
    let frame = Message::Close(Some(CloseFrame {
        code,
        reason: Utf8Bytes::from_static(reason),
    }));
    let _ = timeout(within, socket.send(frame)).await;
}

/// Handle one incoming frame; `Some(reason)` ends the connection.
async fn receive(
    ctx: &mut ConnCtx,
    incoming: Option<Result<Message, axum::Error>>,
) -> Option<&'static str> {
    match incoming {
        Some(Ok(Message::Text(text))) => dispatch::frame(ctx, text.as_str()).await,
        Some(Ok(Message::Binary(_))) => ctx.send(&ServerEvent::error(
            "parse_error",
            "Binary frames are not supported; send JSON text frames",
        )),
        Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
        Some(Ok(Message::Close(_))) | None => return Some("client closed"),
        Some(Err(e)) if is_capacity_error(&e) => return Some("message too big"),
        Some(Err(_)) => return Some("read error"),
    }
    None
}

fn is_capacity_error(e: &axum::Error) -> bool {
    let text = format!("{e:?}");
    text.contains("Capacity") || text.contains("too long") || text.contains("too big")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deadline_in_the_past_is_now() {
        let before = Instant::now();
        assert!(deadline(1_000, 5_000) <= Instant::now());
        assert!(deadline(61_000, 1_000) >= before + Duration::from_secs(60));
    }
}
