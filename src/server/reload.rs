//! `jean2 reload` (SIGHUP) in the running server: read the whole configuration again, check it,
//! and only if every value is good apply what can change live (the token, the provider keys, the
//! certificate). A bad value, an unreadable certificate, or a configuration that would turn
//! authentication off while the listener is on a public address is refused as a whole, with
//! `reload failed` in the log (which `jean2 reload` reports), and nothing is applied.

use std::net::SocketAddr;

use axum_server::tls_rustls::RustlsConfig;

use super::{Reloader, tls};
use crate::app::AppState;
use crate::config::Settings;

/// Serve reload signals until the channel closes.
pub(super) async fn run(
    mut reloader: Reloader,
    state: AppState,
    tls: Option<RustlsConfig>,
    bound: SocketAddr,
) {
    while reloader.signals.recv().await.is_some() {
        let result = (reloader.load)()
            .map_err(|e| e.to_string())
            .and_then(|new| apply(&state, tls.as_ref(), bound, &new));
        match result {
            Ok(what) => tracing::info!(
                auth = if state.auth_enabled() { "on" } else { "off" },
                "reloaded {}",
                what.join(" and ")
            ),
            Err(e) => {
                tracing::error!(error = %e, "reload failed; keeping the current configuration")
            }
        }
    }
}

/// Check `new` against the running server, then apply it. `Err` says why nothing was applied.
fn apply(
    state: &AppState,
    current_tls: Option<&RustlsConfig>,
    bound: SocketAddr,
    new: &Settings,
) -> Result<Vec<&'static str>, String> {
    let auth_off = new.auth_token.is_none() && state.auth.oauth().is_none();
    if auth_off && !bound.ip().is_loopback() && !new.allow_no_auth {
        return Err(format!(
            "the new configuration has no JEAN2_AUTH_TOKEN, and this server listens on {bound}: \
             anyone on the network could use it. Set a token, or restart bound to 127.0.0.1"
        ));
    }
    let certificate = match (current_tls, &new.tls) {
        (Some(_), Some(files)) => Some(tls::load(files).map_err(|e| e.to_string())?),
        _ => None,
    };
    let restart = needing_restart(&state.settings, new, current_tls.is_some());
    if !restart.is_empty() {
        tracing::warn!(
            "reload: not applied until a restart (jean2 restart): {}",
            restart.join(", ")
        );
    }
    state
        .auth
        .set_token(new.auth_token.as_ref().map(|t| t.expose()));
    state.chat.set_llm_settings(new.llm.clone());
    let mut what = vec!["token", "provider keys"];
    if let (Some(current), Some(cfg)) = (current_tls, certificate) {
        current.reload_from_config(cfg);
        what.push("certificate");
    }
    Ok(what)
}

/// The variables that differ in `new` but only take effect at start: what a reload leaves as it
/// was, said plainly rather than ignored.
fn needing_restart(old: &Settings, new: &Settings, tls_on: bool) -> Vec<&'static str> {
    let checks: [(bool, &'static str); 18] = [
        (old.host == new.host, "JEAN2_HOST"),
        (old.port == new.port, "JEAN2_PORT"),
        (tls_on == new.tls.is_some(), "JEAN2_TLS_ENABLED"),
        (
            old.allowed_origins == new.allowed_origins,
            "JEAN2_ALLOWED_ORIGINS",
        ),
        (
            old.allowed_hosts == new.allowed_hosts,
            "JEAN2_ALLOWED_HOSTS",
        ),
        (
            old.auth_max_failures == new.auth_max_failures,
            "JEAN2_AUTH_MAX_FAILURES",
        ),
        (
            old.auth_failure_window == new.auth_failure_window,
            "JEAN2_AUTH_FAILURE_WINDOW_SECS",
        ),
        (
            old.trusted_proxies == new.trusted_proxies,
            "JEAN2_TRUSTED_PROXIES",
        ),
        (
            old.database_path == new.database_path,
            "JEAN2_DATABASE_PATH",
        ),
        (old.database_url == new.database_url, "JEAN2_DATABASE_URL"),
        (
            old.database_pool_size == new.database_pool_size,
            "JEAN2_DATABASE_POOL_SIZE",
        ),
        (old.log_filter == new.log_filter, "JEAN2_LOG"),
        (old.log_max_bytes == new.log_max_bytes, "JEAN2_LOG_MAX_MB"),
        (
            old.max_connections == new.max_connections,
            "JEAN2_MAX_CONNECTIONS",
        ),
        (
            old.oauth.enabled == new.oauth.enabled,
            "JEAN2_OAUTH_ENABLED",
        ),
        (
            old.oauth.public_url == new.oauth.public_url,
            "JEAN2_PUBLIC_URL",
        ),
        (
            old.terminal_shell == new.terminal_shell,
            "JEAN2_TERMINAL_SHELL",
        ),
        (old.client_dir == new.client_dir, "JEAN2_CLIENT_DIR"),
    ];
    checks
        .into_iter()
        .filter(|(unchanged, _)| !unchanged)
        .map(|(_, name)| name)
        .collect()
}
