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
        (None, Some(_)) | (Some(_), None) => {
            tracing::warn!("reload: turning TLS on or off needs a restart (jean2 restart)");
            None
        }
        (None, None) => None,
    };
    if new.host != state.settings.host || new.port != state.settings.port {
        tracing::warn!("reload: a new host or port needs a restart (jean2 restart)");
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
