//! One task per WebSocket: reads client frames, writes queued events, sends the JSON heartbeat,
//! and closes cleanly on shutdown, on heartbeat timeout, on oversized frames (1009) and when the
//! client stops reading (its queue overflowed).

use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, close_code};
use futures_util::{SinkExt, StreamExt};
use tokio::time::{MissedTickBehavior, interval_at, timeout};

use super::dispatch::{self, ConnCtx};
use crate::app::AppState;
use crate::auth::Principal;
use crate::events::ServerEvent;
use crate::events::hub::Audience;

/// Missed heartbeats tolerated before closing (`PROTOCOL.md` §4.2: more than 3).
const MAX_MISSED_PONGS: u32 = 3;
/// A client that does not take a frame within this time is gone.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a close frame may take to reach a client whose socket may be full.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(1);
/// Close code for a client that could not keep up; it reconnects (unlike 1008).
const CLOSE_TRY_AGAIN_LATER: u16 = 1013;

pub async fn run(socket: WebSocket, app: AppState, principal: Principal) {
    let hub = app.hub.clone();
    let reg = hub.register(principal.scope());
    let conn_id = reg.id;
    tracing::debug!(ws.conn = conn_id, "websocket connected");
    let reason = serve(socket, app, principal, reg).await;
    hub.unregister(conn_id);
    tracing::debug!(ws.conn = conn_id, reason, "websocket closed");
}

async fn serve(
    socket: WebSocket,
    app: AppState,
    principal: Principal,
    reg: crate::events::hub::Registration,
) -> &'static str {
    let (mut sink, mut stream) = socket.split();
    let mut rx = reg.rx;
    let period = app.settings.ws_heartbeat;
    let mut heartbeat = interval_at(tokio::time::Instant::now() + period, period);
    heartbeat.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let shutdown = app.shutdown.clone();
    let mut ctx = ConnCtx::new(app, reg.id, principal);

    let close = |code: u16, reason: &'static str| {
        Message::Close(Some(CloseFrame {
            code,
            reason: Utf8Bytes::from_static(reason),
        }))
    };

    loop {
        tokio::select! {
            biased;
            _ = shutdown.cancelled() => {
                let _ = timeout(SEND_TIMEOUT, sink.send(close(close_code::AWAY, "Server shutting down"))).await;
                return "server shutdown";
            }
            _ = reg.evicted.cancelled() => {
                let _ = timeout(SEND_TIMEOUT, sink.send(close(CLOSE_TRY_AGAIN_LATER, "Client too slow"))).await;
                return "client too slow";
            }
            frame = rx.recv() => {
                let Some(frame) = frame else { return "hub closed" };
                // A send blocks while the client's socket is full; eviction and shutdown must
                // still end the connection at once, not after SEND_TIMEOUT.
                tokio::select! {
                    sent = timeout(SEND_TIMEOUT, sink.send(Message::Text(Utf8Bytes::from(&*frame)))) => {
                        if !matches!(sent, Ok(Ok(()))) {
                            return "send failed";
                        }
                    }
                    _ = reg.evicted.cancelled() => {
                        let _ = timeout(CLOSE_TIMEOUT, sink.send(close(CLOSE_TRY_AGAIN_LATER, "Client too slow"))).await;
                        return "client too slow";
                    }
                    _ = shutdown.cancelled() => {
                        let _ = timeout(CLOSE_TIMEOUT, sink.send(close(close_code::AWAY, "Server shutting down"))).await;
                        return "server shutdown";
                    }
                }
            }
            _ = heartbeat.tick() => {
                if ctx.missed_pongs >= MAX_MISSED_PONGS {
                    let _ = timeout(SEND_TIMEOUT, sink.send(close(close_code::NORMAL, "Heartbeat timeout"))).await;
                    return "heartbeat timeout";
                }
                ctx.missed_pongs += 1;
                ctx.app.hub.publish(Audience::Conn(ctx.id), &ServerEvent::Ping);
            }
            incoming = stream.next() => {
                // Boxed: the handler futures (store queries) are ~1.8 KB and would otherwise
                // be part of every idle connection's task (bench-ws.sh).
                if let Some(end) = Box::pin(receive(&mut ctx, incoming)).await {
                    if end == "message too big" {
                        let _ = timeout(SEND_TIMEOUT, sink.send(close(close_code::SIZE, "Message too big"))).await;
                    }
                    return end;
                }
            }
        }
    }
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
