//! One task for every WebSocket of a server (started with the first connection): the JSON
//! heartbeat (`PROTOCOL.md` §4.2) pings all connections each period, so no connection carries a
//! timer of its own; at shutdown it closes them all (1001); with OAuth on it watches the marker
//! that `jean2 users|apps|keys` replace ([`crate::auth::revocation`]) and closes the
//! connections whose credential the database no longer accepts (1008).

use std::collections::HashMap;
use std::time::Duration;

use tokio::time::{Instant, MissedTickBehavior, interval, interval_at};

use crate::app::AppState;
use crate::auth::revocation::Marker;
use crate::events::hub::CloseReason;

/// How often the marker file is looked at (one `stat`).
pub const ADMIN_POLL: Duration = Duration::from_secs(1);

/// Start the server's ticker unless it runs already.
pub fn ensure(app: &AppState) {
    if app.hub.claim_heartbeat() {
        tokio::spawn(run(app.clone()));
    }
}

pub async fn run(app: AppState) {
    let period = app.settings.ws_heartbeat;
    let mut beat = interval_at(Instant::now() + period, period);
    beat.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let marker = app
        .auth
        .oauth()
        .map(|_| Marker::new(&app.settings.database_path));
    let mut poll = interval(ADMIN_POLL);
    poll.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            biased;
            () = app.shutdown.cancelled() => {
                app.hub.close_all(CloseReason::Shutdown);
                return;
            }
            _ = beat.tick() => app.hub.heartbeat(),
            _ = poll.tick(), if marker.is_some() => {
                if let Some((marker, seen)) = marker.as_ref().and_then(|m| Some((m, m.changed()?))) {
                    recheck(&app).await;
                    marker.seen(seen);
                }
            }
        }
    }
}

/// Check the credential of every connection opened with an API key or access token against
/// the database, closing those it no longer accepts.
async fn recheck(app: &AppState) {
    let Some(oauth) = app.auth.oauth() else {
        return;
    };
    oauth.forget_admin_state().await;
    let mut verdicts = HashMap::new();
    let mut closed = 0;
    for (id, credential) in app.hub.oauth_credentials() {
        let valid = match verdicts.get(&credential) {
            Some(v) => *v,
            None => {
                let v = oauth.still_valid(&credential).await;
                verdicts.insert(credential, v);
                v
            }
        };
        if !valid {
            app.hub.close(id, CloseReason::Revoked);
            closed += 1;
        }
    }
    if closed > 0 {
        tracing::info!(
            ws.closed = closed,
            "closed WebSockets whose credential was revoked"
        );
    }
}
