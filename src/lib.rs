//! jean2: the server of the Jean2 agent platform.
//!
//! The map, top to bottom (a module uses only modules below it):
//!
//! - [`cli`]: the command line and its help text.
//! - [`admin`]: `jean2 users|apps|keys`: OAuth administration, straight on the database.
//! - [`daemon`]: pidfile, detached start, status, stop, reload of the background server.
//! - [`server`]: `run(settings, listener, shutdown)`, plain or rustls, graceful shutdown, limits.
//! - [`router`]: the one route table and the layer stack.
//! - [`layers`]: Host/Origin guard with CORS, and the request log with secrets scrubbed.
//! - [`api`]: REST handlers, one file per resource.
//! - [`ws`]: the WebSocket endpoint: message parsing, one task per connection, dispatch.
//! - [`app`]: `AppState`, built once from settings.
//! - [`chat`]: preconfigs and the chat turn: pre-checks, queue, streaming into parts, titles,
//!   crash recovery.
//! - [`auth`]: credentials → `Principal`; token check, failed-attempt limiter, the auth layer.
//! - [`events`]: server → client events and the hub that routes them.
//! - [`llm`]: the provider and model registry, and the streaming chat-completions client.
//! - [`store`]: SQLite through rusqlite; the only place SQL lives.
//! - [`config`]: `Settings`, loaded in one function in one documented order.
//! - [`error`]: `AppError` → status code and the JSON body clients expect.
//! - [`proc`]: the environment of child processes (no secrets).
//! - [`time`]: wire timestamps.

pub mod admin;
pub mod api;
pub mod app;
pub mod auth;
pub mod chat;
pub mod cli;
pub mod config;
pub mod daemon;
pub mod error;
pub mod events;
pub mod layers;
pub mod llm;
pub mod proc;
pub mod router;
pub mod server;
pub mod store;
pub mod time;
pub mod ws;
