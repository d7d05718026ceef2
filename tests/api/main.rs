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
mod meta;
mod persistence;
mod sessions;
mod workspaces;
mod ws;
mod ws_hygiene;
mod ws_sessions;
