//! The terminal sockets (`PROTOCOL-AGENT.md` §13.9): `/ws/terminal` carries one terminal's
//! binary frames (keystrokes and resizes in, output and exit out, the scrollback replayed on
//! attach), `/ws/terminal/events` a workspace's tab list (a snapshot, then changes). Both sit
//! behind the same auth layer as `/ws` and are the owner's only, like the REST routes; like
//! `/ws` they close when their credential is revoked or expires ([`super::watch`]).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade, close_code};
use axum::extract::{Extension, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use bytes::{Bytes, BytesMut};
use futures_util::stream::SplitSink;
use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use serde_json::json;
use tokio::sync::broadcast::error::RecvError;
use tokio::time::timeout;

use super::watch::Watch;
use crate::app::AppState;
use crate::auth::Principal;
use crate::error::{ApiQuery, AppError};
use crate::events::Credential;
use crate::files::{FileError, Roots, roots};
use crate::store::Scope;
use crate::terminal::frames::{self, ClientFrame};
use crate::terminal::{Output, Terminal, TerminalError};

/// A client that does not take a frame within this time is gone.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest client frame (keystrokes; a paste of a large text is the big case).
const MAX_FRAME_BYTES: usize = 1024 * 1024;
/// Replayed scrollback is sent in frames of about this size.
const REPLAY_FRAME_BYTES: usize = 64 * 1024;

type Sink = SplitSink<WebSocket, Message>;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TerminalQuery {
    cwd: Option<String>,
    workspace_id: Option<String>,
    session_id: Option<String>,
    shell: Option<String>,
}

fn bad_request(message: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        axum::Json(json!({"error": "bad_request", "message": message})),
    )
        .into_response()
}

/// 403 for anyone but the owner (checked after authentication, before the upgrade).
fn owner_only(principal: &Principal) -> Result<(), AppError> {
    match principal.scope() {
        Scope::All => Ok(()),
        Scope::Owner(_) => Err(AppError::Forbidden(
            "Only the server's owner may open terminals on the server".into(),
        )),
    }
}

fn upgraded(
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<WebSocketUpgrade, AppError> {
    ws.map(|ws| {
        ws.max_message_size(MAX_FRAME_BYTES)
            .max_frame_size(MAX_FRAME_BYTES)
    })
    .map_err(|r| AppError::BadRequest(format!("WebSocket upgrade failed: {}", r.body_text())))
}

/// `GET /ws/terminal/events?workspaceId=`.
pub async fn events_upgrade(
    State(app): State<AppState>,
    Extension(principal): Extension<Principal>,
    Extension(credential): Extension<Credential>,
    ApiQuery(q): ApiQuery<TerminalQuery>,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    if let Err(refused) = owner_only(&principal) {
        return refused.into_response();
    }
    let Some(workspace_id) = q.workspace_id.filter(|w| !w.is_empty()) else {
        return bad_request("Missing required parameter: workspaceId");
    };
    match upgraded(ws) {
        Ok(ws) => ws.on_upgrade(move |socket| {
            let watch = Watch::new(&app, credential);
            events(socket, app, workspace_id, watch)
        }),
        Err(refused) => refused.into_response(),
    }
}

async fn events(socket: WebSocket, app: AppState, workspace_id: String, mut watch: Watch) {
    let (mut sink, mut stream) = socket.split();
    let (snapshot, mut rx) = app.terminals.subscribe(&workspace_id);
    let Ok(snapshot) = serde_json::to_string(&snapshot) else {
        return;
    };
    if send(&mut sink, Message::Text(snapshot.into()))
        .await
        .is_err()
    {
        return;
    }
    loop {
        tokio::select! {
            _ = app.shutdown.cancelled() => {
                close(&mut sink, close_code::AWAY, "Server shutting down").await;
                return;
            }
            reason = watch.ended() => {
                close(&mut sink, reason.code(), reason.text()).await;
                return;
            }
            event = rx.recv() => match event {
                Ok((ws, text)) if *ws == *workspace_id => {
                    if send(&mut sink, Message::Text(Utf8Bytes::from(&*text))).await.is_err() {
                        return;
                    }
                }
                Ok(_) => {}
                // Fell behind: it reconnects and gets a fresh snapshot.
                Err(RecvError::Lagged(_)) => {
                    close(&mut sink, 1013, "Client too slow").await;
                    return;
                }
                Err(RecvError::Closed) => return,
            },
            incoming = stream.next() => match incoming {
                Some(Ok(Message::Close(_)) | Err(_)) | None => return,
                Some(Ok(_)) => {}
            },
        }
    }
}

/// `GET /ws/terminal?cwd=&workspaceId=&sessionId=&shell=`.
pub async fn terminal_upgrade(
    State(app): State<AppState>,
    Extension(principal): Extension<Principal>,
    Extension(credential): Extension<Credential>,
    ApiQuery(q): ApiQuery<TerminalQuery>,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    if let Err(refused) = owner_only(&principal) {
        return refused.into_response();
    }
    if q.cwd.as_deref().is_none_or(str::is_empty) {
        return bad_request("Missing required parameter: cwd");
    }
    match upgraded(ws) {
        Ok(ws) => ws.on_upgrade(move |socket| {
            let watch = Watch::new(&app, credential);
            terminal(socket, app, principal.scope(), q, watch)
        }),
        Err(refused) => refused.into_response(),
    }
}

async fn terminal(
    socket: WebSocket,
    app: AppState,
    scope: Scope,
    q: TerminalQuery,
    mut watch: Watch,
) {
    let (mut sink, mut stream) = socket.split();
    let (term, reconnect) = match open(&app, &scope, &q).await {
        Ok(found) => found,
        Err(message) => {
            let frame = frames::encode_json(frames::ERROR, &json!({ "message": message }));
            let _ = send(&mut sink, Message::Binary(frame)).await;
            close(&mut sink, close_code::NORMAL, "").await;
            return;
        }
    };
    let mut att = term.attach();
    if greet(&mut sink, &term, &att, reconnect).await.is_err() {
        return;
    }
    loop {
        tokio::select! {
            _ = app.shutdown.cancelled() => {
                close(&mut sink, close_code::AWAY, "Server shutting down").await;
                return;
            }
            // The shell lives on (a reconnect with a valid credential attaches to it again).
            reason = watch.ended() => {
                close(&mut sink, reason.code(), reason.text()).await;
                return;
            }
            out = att.output.recv() => {
                let frame = match out {
                    Ok(Output::Data(data)) => frames::encode(frames::OUTPUT, &data),
                    Ok(Output::Exit(code)) => frames::encode_json(frames::EXIT, &json!({"exitCode": code})),
                    Ok(Output::Closed(code)) => {
                        let exit = frames::encode_json(frames::EXIT, &json!({"exitCode": code}));
                        let _ = send(&mut sink, Message::Binary(exit)).await;
                        close(&mut sink, close_code::NORMAL, "Terminal closed").await;
                        return;
                    }
                    // Fell behind the output: it reconnects and gets the scrollback again.
                    Err(RecvError::Lagged(_)) => {
                        close(&mut sink, 1013, "Client too slow").await;
                        return;
                    }
                    Err(RecvError::Closed) => return,
                };
                if send(&mut sink, Message::Binary(frame)).await.is_err() {
                    return;
                }
            }
            incoming = stream.next() => {
                let bytes = match incoming {
                    Some(Ok(Message::Binary(b))) => b,
                    Some(Ok(Message::Text(t))) => Bytes::copy_from_slice(t.as_str().as_bytes()),
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                    Some(Ok(Message::Close(_)) | Err(_)) | None => return,
                };
                match frames::decode(&bytes) {
                    ClientFrame::Input(keys) => term.write(bytes.slice_ref(keys)).await,
                    ClientFrame::Resize { cols, rows } => term.resize(cols, rows).await,
                    ClientFrame::Close => {
                        app.terminals.close(&term.id).await;
                        close(&mut sink, close_code::NORMAL, "Terminal closed").await;
                        return;
                    }
                    ClientFrame::Ignored => {}
                }
            }
        }
    }
}

/// `INIT_ACK`, then the scrollback (`REPLAY_COMPLETE` after it on a reconnect), then `EXIT`
/// when the shell has already exited.
async fn greet(
    sink: &mut Sink,
    term: &Terminal,
    att: &crate::terminal::Attachment,
    reconnect: bool,
) -> Result<(), axum::Error> {
    let info = term.info();
    let init = json!({
        "sessionId": info.id, "pid": info.pid, "shell": info.shell, "cwd": info.cwd,
        "cols": info.cols, "rows": info.rows, "createdAt": info.created_at,
        "status": info.status, "exitCode": info.exit_code, "isReconnect": reconnect,
        "title": info.title, "inAlternateScreen": info.in_alternate_screen,
    });
    send(
        sink,
        Message::Binary(frames::encode_json(frames::INIT_ACK, &init)),
    )
    .await?;
    let mut batch = BytesMut::new();
    for chunk in &att.replay {
        batch.extend_from_slice(chunk);
        if batch.len() >= REPLAY_FRAME_BYTES {
            send(
                sink,
                Message::Binary(frames::encode(frames::OUTPUT, &batch)),
            )
            .await?;
            batch.clear();
        }
    }
    if !batch.is_empty() {
        send(
            sink,
            Message::Binary(frames::encode(frames::OUTPUT, &batch)),
        )
        .await?;
    }
    if reconnect {
        send(
            sink,
            Message::Binary(frames::encode(frames::REPLAY_COMPLETE, &[])),
        )
        .await?;
    }
    if let Some(code) = att.exit_code {
        let exit = frames::encode_json(frames::EXIT, &json!({ "exitCode": code }));
        send(sink, Message::Binary(exit)).await?;
    }
    Ok(())
}

/// The terminal a socket attaches to: the named one (`sessionId`), or a new one in `cwd`,
/// which must lie inside the workspace's roots. `Err` is the `ERROR` frame's message.
async fn open(
    app: &AppState,
    scope: &Scope,
    q: &TerminalQuery,
) -> Result<(Arc<Terminal>, bool), &'static str> {
    let workspace_id = q.workspace_id.clone().unwrap_or_default();
    if let Some(sid) = q.session_id.as_deref().filter(|s| !s.is_empty()) {
        let term = app.terminals.get(sid).ok_or("Session not found")?;
        if term.workspace_id != workspace_id {
            return Err("Terminal session does not belong to this workspace");
        }
        return Ok((term, true));
    }
    let ws = app
        .store
        .get_workspace(scope, &workspace_id)
        .await
        .map_err(|_| "Invalid or missing working directory")?;
    let roots = Roots::new(&ws.path, &ws.additional_paths);
    let cwd = q.cwd.clone().unwrap_or_default();
    let dir = tokio::task::spawn_blocking(move || working_dir(&roots, &cwd))
        .await
        .map_err(|_| "Failed to create terminal session")??;
    match app
        .terminals
        .create(&workspace_id, &dir, q.shell.as_deref())
    {
        Ok(term) => Ok((term, false)),
        Err(TerminalError::LimitReached) => {
            Err("Maximum terminal sessions reached for this workspace")
        }
        Err(TerminalError::Spawn(cause)) => {
            tracing::error!(error = %cause, "cannot start a terminal");
            Err("Failed to create terminal session")
        }
    }
}

/// `cwd` resolved inside the workspace roots (relative to the main one), and a directory.
fn working_dir(roots: &Roots, cwd: &str) -> Result<PathBuf, &'static str> {
    match roots::confine(roots.main(), cwd, &roots.all()) {
        Ok(at) if at.real.is_dir() => Ok(at.real),
        Ok(_) => Err("Path is not a directory"),
        Err(FileError::Outside) => Err("Working directory is outside the workspace"),
        Err(_) => Err("Invalid or missing working directory"),
    }
}

async fn send(sink: &mut Sink, msg: Message) -> Result<(), axum::Error> {
    match timeout(SEND_TIMEOUT, sink.send(msg)).await {
        Ok(sent) => sent,
        Err(_) => Err(axum::Error::new("send timed out")),
    }
}

async fn close(sink: &mut Sink, code: u16, reason: &'static str) {
    let frame = CloseFrame {
        code,
        reason: Utf8Bytes::from_static(reason),
    };
    let _ = send(sink, Message::Close(Some(frame))).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_working_directory_outside_the_workspace_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("ws")).unwrap();
        let roots = Roots::new(&dir.path().join("ws").to_string_lossy(), &[]);
        assert!(working_dir(&roots, ".").is_ok());
        assert_eq!(
            working_dir(&roots, "..").unwrap_err(),
            "Working directory is outside the workspace"
        );
    }
}
