//! A tiny HTTP client for the CLI to talk to its own server on this machine: a current-thread
//! runtime of its own (the CLI has no other) and reqwest without proxies. Certificates are not
//! verified: the probe only ever talks to the server this data dir's pidfile names, over the
//! address it bound, and sends no secret.

use std::time::Duration;

use anyhow::Context as _;
use serde_json::Value;

/// One request may take this long before it counts as "no answer".
const REQUEST_TIMEOUT: Duration = Duration::from_secs(2);

pub struct Probe {
    runtime: tokio::runtime::Runtime,
    client: reqwest::Client,
}

impl Probe {
    pub fn new() -> anyhow::Result<Probe> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("cannot start a runtime for the health probe")?;
        let client = reqwest::Client::builder()
            .no_proxy()
            .danger_accept_invalid_certs(true)
            .timeout(REQUEST_TIMEOUT)
            .build()
            .context("cannot build the HTTP client for the health probe")?;
        Ok(Probe { runtime, client })
    }

    /// Whether `GET {base}/api/health` answers 2xx.
    pub fn healthy(&self, base: &str) -> bool {
        let url = format!("{base}/api/health");
        self.runtime.block_on(async {
            self.client
                .get(url)
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
        })
    }

    /// `GET {base}/api/info` as JSON (public route), or `None` when it does not answer.
    pub fn info(&self, base: &str) -> Option<Value> {
        let url = format!("{base}/api/info");
        self.runtime.block_on(async {
            let res = self.client.get(url).send().await.ok()?;
            if !res.status().is_success() {
                return None;
            }
            res.json::<Value>().await.ok()
        })
    }
}
