//! The one integration-test binary: every file in `tests/` is its own binary and linking is
//! slow on two cores, so all areas live here as modules.
//!
//! How tests here wait (they run on two busy cores, so no claim may depend on speed):
//! - `spawn_app*()` start a server on its own runtime with its own log; a failing test prints
//!   that log (`jean2` at debug). The binary-driven tests print `server.log` likewise.
//! - "Nothing else was sent" is `ws.expect_nothing_before_barrier(label)` (or
//!   `ws.frames_before_barrier()` to inspect what came first), never a timed silence. If the
//!   unwanted frame would come from a later task, first wait for a sign that the task is done
//!   (`chat::wait_idle`, `fake.wait_no_open_streams()`).
//! - A state the server reaches on its own is awaited with `wait_until(what, check)`.
//! - "While a turn runs" is a `Script::held(content, sent, &gate)` the test opens, not a slow
//!   stream; a clock-based rule moves a `jean2::time::Clock` (`settings.oauth.clock`).
//! - Timeouts (`HUNG`, 30 s) only stop a hung test; no test asserts an upper bound on time.

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

mod agent;
mod attachments;
mod auth;
mod carryover;
mod catalog;
mod chat;
mod chat_users;
mod client_serving;
mod cluster;
mod daemon;
#[allow(dead_code, reason = "each test module scripts a different behaviour")]
mod fake_llm;
mod files;
mod hardening;
mod llm_client;
mod meta;
mod oauth;
mod oauth_cli;
mod oauth_keys;
mod oauth_negative;
mod oauth_negative_tokens;
mod oauth_resource;
mod oauth_support;
mod oauth_users;
mod persistence;
mod pins;
mod revocation;
mod revocation_cli;
mod session_ops;
mod sessions;
mod sessions_views;
mod settings;
mod settings_models;
mod settings_preconfigs;
mod settings_tools;
mod terminal;
mod tls;
mod workspace_settings;
mod workspaces;
mod ws;
mod ws_hygiene;
mod ws_sessions;

/// One `cargo test` covers both backends: this binary again on PostgreSQL (see
/// `src/store/pg/testdb.rs`; without PostgreSQL, one loud line, and a failure under CI).
mod both_backends {
    #[test]
    fn every_test_passes_on_postgres_too() {
        crate::helpers::testdb::rerun_on_postgres(
            "both_backends::every_test_passes_on_postgres_too",
        );
    }
}
