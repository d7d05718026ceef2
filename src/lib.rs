//! jean2: the server of the Jean2 agent platform.
//!
//! The map, top to bottom. A module uses only modules below it, never one above (the test
//! `layering` in this file checks every `crate::` path in `src/`):
//!
//! - [`cli`]: the command line and its help text; `main.rs` dispatches it.
//! - [`admin`]: `jean2 users|apps|keys`: OAuth administration, straight on the database.
//! - [`daemon`]: pidfile, detached start, status, stop, reload of the background server.
//! - [`server`]: `run(settings, listener, shutdown)`: our accept loop (plain or rustls, graceful
//!   shutdown, limits), the request-head deadline (its timer's sleeps reused per thread).
//! - [`router`]: the one route table (full paths, no nested routers), which routes need a
//!   credential, and the front layer around the whole router.
//! - [`layers`]: the front layer: request id, Host/Origin guard with CORS, authentication,
//!   timeout, security headers, the request log with secrets scrubbed.
//! - [`api`]: REST handlers, one file per resource: HTTP ⇄ core calls.
//! - [`ws`]: the WebSocket endpoint: typed client messages, one task per connection.
//! - [`routes`]: routes with their paths kept, and the table that names a request's route (and
//!   the credential it needs) before the router runs.
//! - [`app`]: `AppState`, built once from settings.
//! - [`sessions`]: the session and workspace lifecycle that REST and WebSocket share.
//! - [`chat`]: the chat context and turn: pre-checks, queue, streaming into parts, titles,
//!   crash recovery; its tasks are tracked so shutdown waits for them.
//! - [`permissions`]: asks, grants and `autoApproveSeverity`: where a tool waits for a person.
//! - [`files`]: workspace files (tree, search, preview, editor reads and saves), git status and
//!   diffs, the folder picker; every path confined to the workspace roots; attachment files.
//! - [`terminal`]: PTYs per terminal tab: spawn, scrollback, resize, whole-session kill.
//! - [`tools`]: the agent's built-in tools: definitions, the path guard, risk rules, running a
//!   call, and its outcome as a tool part.
//! - [`auth`]: credentials → `Principal`; token check, failed-attempt limiter, OAuth 2.1 core,
//!   the auth layer.
//! - [`events`]: server → client events, the hub that routes them by visibility, and the relay
//!   that carries them to other instances on one PostgreSQL database.
//! - [`llm`]: the provider and model registry, and the streaming chat-completions client.
//! - [`error`]: `AppError` → status code and the JSON body clients expect.
//! - [`store`]: one `Store` handle over SQLite (rusqlite: one writer, a few readers, cached
//!   statements) or PostgreSQL (tokio-postgres behind a pool); the only place SQL lives.
//! - [`config`]: `Settings`, loaded in one function in one documented order.
//! - [`proc`]: the environment of child processes (no secrets).
//! - [`time`]: wire timestamps and the injectable clock.
//! - [`console`]: what the commands print (`say!`: a closed pipe ends a command quietly).

pub mod cli;

pub mod admin;
pub mod daemon;
pub mod server;

pub mod router;

pub mod layers;

pub mod api;
pub mod ws;

pub mod routes;

pub mod app;

pub mod sessions;

pub mod chat;

pub mod permissions;

pub mod files;
pub mod terminal;

pub mod tools;

pub mod auth;

pub mod events;

pub mod llm;

pub mod error;

pub mod store;

pub mod config;

pub mod proc;

pub mod time;

pub mod console;

/// This build's version (`jean2 version`, `/api/info`, the pidfile).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

#[cfg(test)]
mod layering;
