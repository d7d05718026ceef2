//! Per-application request counts (gathered in memory on the hot path, written every few
//! seconds) and the periodic housekeeping of expired OAuth records.

use std::time::Duration;

use super::OAuth;

impl OAuth {
    /// Count one request of an application (flushed to the store by [`OAuth::flush_usage`]).
    pub fn count_request(&self, app_id: &str) {
        let day = crate::time::day_of(self.now_ms());
        let mut usage = self.inner.usage.lock().unwrap_or_else(|e| e.into_inner());
        *usage.entry((app_id.to_owned(), day)).or_default() += 1;
    }

    /// Write the request counts gathered since the last flush.
    pub async fn flush_usage(&self) {
        let pending: Vec<((String, String), i64)> = {
            let mut usage = self.inner.usage.lock().unwrap_or_else(|e| e.into_inner());
            usage.drain().collect()
        };
        for ((app, day), n) in pending {
            if let Err(e) = self.store().add_usage(&app, &day, n).await {
                tracing::error!(error = %e, app.id = %app, "cannot record request counts");
            }
        }
    }

    /// Housekeeping until `stop` is cancelled: flush request counts every few seconds, and drop
    /// expired codes, sessions and revocations hourly. (The server flushes the counts a last
    /// time itself, before it closes the store.)
    pub async fn run_housekeeping(self, stop: tokio_util::sync::CancellationToken) {
        const FLUSH_EVERY: Duration = Duration::from_secs(5);
        const PRUNE_EVERY_TICKS: u32 = 720;
        let mut tick = tokio::time::interval(FLUSH_EVERY);
        let mut ticks = 0u32;
        loop {
            tokio::select! {
                _ = tick.tick() => {
                    self.flush_usage().await;
                    if ticks.is_multiple_of(PRUNE_EVERY_TICKS) {
                        self.prune_revoked(self.now_ms());
                        match self.store().prune_expired(self.now_ms()).await {
                            Ok(n) if n > 0 => tracing::debug!(rows = n, "pruned expired OAuth records"),
                            Ok(_) => {}
                            Err(e) => tracing::error!(error = %e, "cannot prune expired OAuth records"),
                        }
                    }
                    ticks = ticks.wrapping_add(1);
                }
                () = stop.cancelled() => break,
            }
        }
    }
}
