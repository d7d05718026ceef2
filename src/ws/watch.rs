//! What a socket outside the event hub (the terminal sockets) needs to end with its credential:
//! a place in the hub that only ever carries a close (revocation, shutdown), and the access
//! token's expiry. Dropping the [`Watch`] leaves the hub.

use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::{Instant, Sleep, sleep_until};

use super::ticker;
use crate::app::AppState;
use crate::events::Credential;
use crate::events::hub::{CloseReason, ConnId, Hub, Link};

pub struct Watch {
    hub: Hub,
    id: ConnId,
    link: Arc<Link>,
    expiry: Option<Pin<Box<Sleep>>>,
}

impl Watch {
    /// Watch a socket opened with `credential` (starting the server's ticker, which applies
    /// the admin CLI's revocations, if no socket did yet).
    pub fn new(app: &AppState, credential: Credential) -> Self {
        ticker::ensure(app);
        let expiry = credential
            .expires_at_ms()
            .map(|at_ms| Box::pin(sleep_until(deadline(at_ms, app.auth.clock().now_ms()))));
        let reg = app.hub.watch(credential);
        Watch {
            hub: app.hub.clone(),
            id: reg.id,
            link: reg.link,
            expiry,
        }
    }

    /// Until the socket must close, and why.
    pub async fn ended(&mut self) -> CloseReason {
        let expired = async {
            match self.expiry.as_mut() {
                Some(sleep) => sleep.as_mut().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            reason = self.link.closing() => reason,
            () = expired => CloseReason::Expired,
        }
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        self.hub.unregister(self.id);
    }
}

/// The instant a token valid until `at_ms` (Unix ms) expires, as seen at `now_ms`.
pub fn deadline(at_ms: i64, now_ms: i64) -> Instant {
    let left = u64::try_from(at_ms.saturating_sub(now_ms)).unwrap_or(0);
    Instant::now() + Duration::from_millis(left)
}
