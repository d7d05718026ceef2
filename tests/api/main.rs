//! The one integration-test binary: every file in `tests/` is its own binary and linking is
//! slow on two cores, so all areas live here as modules.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests fail loudly by design"
)]
#[allow(
    dead_code,
    reason = "each test module uses a different part of the helpers"
)]
mod helpers;

mod auth;
mod catalog;
mod chat;
mod chat_users;
mod daemon;
#[allow(dead_code, reason = "each test module scripts a different behaviour")]
mod fake_llm;
mod files;
mod llm_client;
mod meta;
mod oauth;
mod oauth_cli;
mod oauth_negative;
mod oauth_resource;
mod oauth_support;
mod oauth_users;
mod persistence;
mod sessions;
mod terminal;
mod tls;
mod workspaces;
mod ws;
mod ws_hygiene;
mod ws_sessions;
