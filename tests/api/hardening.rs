//! Issue 12, hardening: what a stranger, a bad provider or a revoked user could still do. Each
//! module holds the regression tests of some items, driven over real sockets where the item is
//! about the network.

mod connections;
mod files;
mod headers;
mod oauth;
mod properties;
mod provider;
mod proxies;
mod reload;
mod signin;
mod users;
