//! One task per WebSocket: writes what the hub queued for it (everything waiting at once, as one
//! batch and one flush), reads client frames, and closes when the hub asks (queue overflow,
//! heartbeat timeout, shutdown, a revoked credential), when its access token expires (4001),
//! on oversized frames (1009) and when the client goes away.
//!
//! An idle connection is this task parked on two wake-ups (its queue and its socket), plus a
//! timer only for connections opened with an access token. The heartbeat is one task for all
//! connections ([`super::ticker`]).

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, close_code};
use futures_util::future::BoxFuture;
use futures_util::{FutureExt as _, SinkExt, StreamExt};
use tokio::time::{Instant, Sleep, sleep_until, timeout};

use super::dispatch::{self, ConnCtx};
use super::ticker;
use super::watch::deadline;
use crate::app::AppState;
use crate::auth::Principal;
use crate::events::hub::{CloseReason, Frame, Link};
use crate::events::{Credential, ServerEvent};

/// A client that does not take a frame within this time is gone.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a close frame may take to reach a client whose socket may be full.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(1);

/// The connection's task. Registration happens here, synchronously, so the future that lives
/// as long as the connection holds only what it needs (no moved-from copies of its inputs).
pub fn run(
    socket: WebSocket,
    app: AppState,
    principal: Principal,
    credential: Credential,
) -> impl Future<Output = ()> + Send {
    let hub = app.hub.clone();
    ticker::ensure(&app);
    let expiry = credential
        .expires_at_ms()
        .map(|at_ms| deadline(at_ms, app.auth.clock().now_ms()));
    let reg = hub.register(principal.scope(), credential);
    let conn_id = reg.id;
    tracing::debug!(ws.conn = conn_id, "websocket connected");
    let ctx = ConnCtx::new(app, conn_id, principal);
    serve(socket, ctx, reg.link, expiry).map(move |reason| {
        hub.unregister(conn_id);
        tracing::debug!(ws.conn = conn_id, reason, "websocket closed");
    })
}

/// The connection's loop. What an idle connection waits on is small (its queue's wake-up, its
/// socket, its expiry when it has one); writing, handling a message and closing happen in
/// boxed futures that exist only while they run (an async fn is as large as its largest
/// await, and every idle connection would pay for it).
///
/// A plain function returning an `async` block: the block keeps its inputs where they were
/// captured (an `async fn` would hold its parameters twice).
fn serve(
    mut socket: WebSocket,
    mut ctx: ConnCtx,
    link: Arc<Link>,
    expiry: Option<Instant>,
) -> impl Future<Output = &'static str> + Send {
    // Boxed and only for access tokens: most connections carry no timer.
    let mut expiry: Option<Pin<Box<Sleep>>> = expiry.map(|t| Box::pin(sleep_until(t)));
    async move {
        loop {
            match link.take() {
                Err(reason) => {
                    close_boxed(&mut socket, reason.into()).await;
                    return reason.text();
                }
                Ok(batch) if !batch.is_empty() => {
                    if let Err(end) = write_boxed(&mut socket, &link, batch).await {
                        return end;
                    }
                    continue;
                }
                Ok(_) => {}
            }
            match wait(&mut socket, &link, &mut expiry).await {
                Wake::Queue => {}
                Wake::Expired => link.close(CloseReason::Expired),
                Wake::Incoming(incoming) => {
                    if let Some(end) = receive_boxed(&mut ctx, incoming).await {
                        if end == "message too big" {
                            let too_big = Close(close_code::SIZE, "Message too big");
                            close_boxed(&mut socket, too_big).await;
                        }
                        return end;
                    }
                }
            }
        }
    }
}

// The futures below are built on the heap by plain functions: built inline, they would leave
// room for themselves in every idle connection's task.

fn close_boxed(socket: &mut WebSocket, close: Close) -> BoxFuture<'_, ()> {
    Box::pin(send_close(socket, close, SEND_TIMEOUT))
}

fn write_boxed<'a>(
    socket: &'a mut WebSocket,
    link: &'a Link,
    batch: VecDeque<Frame>,
) -> BoxFuture<'a, Result<(), &'static str>> {
    Box::pin(write_batch(socket, link, batch))
}

fn receive_boxed(
    ctx: &mut ConnCtx,
    incoming: Option<Result<Message, axum::Error>>,
) -> BoxFuture<'_, Option<&'static str>> {
    Box::pin(receive(ctx, incoming))
}

/// What woke an idle connection.
enum Wake {
    /// Something was queued, or a close asked for.
    Queue,
    Expired,
    Incoming(Option<Result<Message, axum::Error>>),
}

/// Where an idle connection waits.
async fn wait(socket: &mut WebSocket, link: &Link, expiry: &mut Option<Pin<Box<Sleep>>>) -> Wake {
    tokio::select! {
        biased;
        () = link.changed() => Wake::Queue,
        () = expired(expiry) => Wake::Expired,
        incoming = socket.next() => Wake::Incoming(incoming),
    }
}

/// Write a batch; a close the hub asks for meanwhile wins (a full socket must not delay it).
async fn write_batch(
    socket: &mut WebSocket,
    link: &Link,
    batch: VecDeque<Frame>,
) -> Result<(), &'static str> {
    let n = batch.len();
    tokio::select! {
        biased;
        reason = link.closing() => {
            send_close(socket, reason, CLOSE_TIMEOUT).await;
            Err(reason.text())
        }
        sent = timeout(SEND_TIMEOUT, write(socket, batch)) => match sent {
            Ok(Ok(())) => {
                link.written(n);
                Ok(())
            }
            _ => Err("send failed"),
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

/// A close code and its reason text.
struct Close(u16, &'static str);

impl From<CloseReason> for Close {
    fn from(r: CloseReason) -> Self {
        Close(r.code(), r.text())
    }
}

async fn send_close(socket: &mut WebSocket, close: impl Into<Close>, within: Duration) {
    let Close(code, reason) = close.into();
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
