//! The WebSocket endpoint `/ws`: client message parsing ([`protocol`]), one task per socket
//! ([`connection`]), one task for all sockets (heartbeat, shutdown, revocations: [`ticker`]),
//! the handlers for each message type ([`dispatch`]), the session lifecycle messages
//! ([`session`]), the session operations ([`session_ops`]) and the terminal sockets
//! ([`terminal`], closed on revocation through [`watch`]).

pub mod chat;
pub mod connection;
pub mod dispatch;
pub mod protocol;
pub mod session;
pub mod session_ops;
pub mod terminal;
pub mod ticker;
pub mod watch;

use crate::routes::Routes;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::{Extension, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::app::AppState;
use crate::auth::Principal;
use crate::error::AppError;
use crate::events::Credential;

/// The subprotocol the server answers when a client offers it.
pub const WS_PROTOCOL: &str = "jean2.v1";

/// Largest text frame or message accepted from a client; larger ones close the socket with 1009.
pub const MAX_MESSAGE_BYTES: usize = 1024 * 1024;

/// The read buffer of a socket (kept for its whole life).
pub const READ_BUFFER: usize = 256;
/// Bytes of queued frames gathered before they are written (also flushed at each batch's end).
pub const WRITE_BUFFER: usize = 4 * 1024;

/// `GET /ws`, and the terminal sockets. Authentication happens in the layer in front of them
/// (before the upgrade).
pub fn router() -> Routes {
    Routes::new()
        .route("/ws", get(upgrade))
        .route("/ws/terminal", get(terminal::terminal_upgrade))
        .route("/ws/terminal/events", get(terminal::events_upgrade))
}

async fn upgrade(
    State(app): State<AppState>,
    Extension(principal): Extension<Principal>,
    Extension(credential): Extension<Credential>,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let ws = match ws {
        Ok(ws) => ws,
        Err(rejection) => {
            return AppError::BadRequest(format!(
                "WebSocket upgrade failed: {}",
                rejection.body_text()
            ))
            .into_response();
        }
    };
    // A browser that sent its credential as the `jean2.bearer.<token>` subprotocol also offers
    // `jean2.v1`, and must see it chosen (a browser fails a handshake that picks none).
    let ws = ws.protocols([WS_PROTOCOL]);
    // Small buffers: an idle connection should cost a few KiB, not the library's 128 KiB
    // defaults. Reads grow the buffer for a larger message; writes are gathered up to
    // WRITE_BUFFER bytes between flushes (a batch of small frames, one system call).
    ws.read_buffer_size(READ_BUFFER)
        .write_buffer_size(WRITE_BUFFER)
        .max_write_buffer_size(MAX_MESSAGE_BYTES * 2)
        .max_message_size(MAX_MESSAGE_BYTES)
        // A frame up to twice the message limit is read whole before it is refused as too
        // big: the client's bytes are then consumed when the 1009 close goes out, so closing
        // does not reset the connection (unread input makes the kernel send RST, which can
        // destroy the close frame before the client reads it). A larger frame is cut at once.
        .max_frame_size(MAX_MESSAGE_BYTES * 2)
        .on_upgrade(move |socket| connection::run(socket, app, principal, credential))
}
