//! Events between instances on one PostgreSQL database (`LISTEN/NOTIFY`, channel
//! [`EVENTS`]). Every event the hub publishes for a session or for viewers is handed to the
//! relay, which sends it, in publish order, from one task (a batch per round trip,
//! `pg_notify` over an array in order); a body over [`MAX_PAYLOAD`] bytes is kept in a row and
//! sent by its id. Each instance listens on a connection of its own and hands what other
//! instances sent to its hub, which fans it out to its own sockets from memory; an instance
//! ignores what it sent itself, so nothing is delivered twice. The listening connection also
//! holds this instance's liveness lock (`store::pg::cluster`).
//!
//! Control messages (interrupt a turn, answer an ask) travel the same way and are handed to
//! whoever subscribed ([`Relay::controls`]). What is published while the listening connection
//! is being re-made (a database restart) is lost for the clients of the other instances; their
//! next resume shows the stored state.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::{broadcast, mpsc};
use tokio_util::sync::CancellationToken;

use super::hub::{Audience, Frame, Hub};
use crate::store::Postgres;
use crate::store::pg::cluster::{EVENTS, MAX_PAYLOAD};

/// Most messages sent in one round trip.
const BATCH: usize = 256;

/// What precedes a frame in a payload (one line of JSON).
#[derive(Debug, Default, Serialize, Deserialize)]
struct Header {
    /// The sending instance.
    i: String,
    /// Its sequence number: identical frames in one batch stay distinct (`NOTIFY` folds
    /// duplicates within a transaction).
    n: u64,
    /// For the participants of this session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    s: Option<String>,
    /// For viewers (`o`: the workspace owner, `None` for the server owner's).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    w: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    o: Option<String>,
    /// A control message instead of an event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    c: Option<Value>,
    /// The body is in `event_payloads` under this id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    r: Option<i64>,
}

struct Out {
    header: Header,
    body: Frame,
}

/// The sending end, held by the hub; cheap to clone.
#[derive(Clone)]
pub struct Relay {
    inner: Arc<Inner>,
}

struct Inner {
    tx: mpsc::UnboundedSender<Out>,
    instance: String,
    controls: broadcast::Sender<Value>,
}

impl Relay {
    /// Start relaying for `hub` through `pg` until `shutdown`; attach the result to the hub.
    /// Returns once this instance listens (or after 10 s, warning): a client served before
    /// would miss the other instances' events.
    pub async fn start(hub: &Hub, pg: Postgres, shutdown: CancellationToken) -> Relay {
        let (tx, rx) = mpsc::unbounded_channel();
        let (controls, _) = broadcast::channel(1024);
        let relay = Relay {
            inner: Arc::new(Inner {
                tx,
                instance: pg.instance().to_owned(),
                controls: controls.clone(),
            }),
        };
        tokio::spawn(send(pg.clone(), rx, shutdown.clone()));
        let (ready, listening) = tokio::sync::oneshot::channel();
        tokio::spawn(listen(pg, hub.clone(), controls, shutdown, ready));
        if !matches!(
            tokio::time::timeout(Duration::from_secs(10), listening).await,
            Ok(Ok(()))
        ) {
            tracing::warn!("not yet listening to the other instances; their events may be missed");
        }
        relay
    }

    /// Hand an event on to the other instances (events for one connection stay here).
    pub fn forward(&self, audience: Audience<'_>, frame: &Frame) {
        let mut header = Header::default();
        match audience {
            Audience::Conn(_) => return,
            Audience::Session(s) => header.s = Some(s.to_owned()),
            Audience::Viewers { owner } | Audience::ViewersExcept { owner, .. } => {
                header.w = true;
                header.o = owner.map(str::to_owned);
            }
        }
        let _ = self.inner.tx.send(Out {
            header,
            body: frame.clone(),
        });
    }

    /// Send a control message to the other instances.
    pub fn control(&self, message: Value) {
        let header = Header {
            c: Some(message),
            ..Header::default()
        };
        let _ = self.inner.tx.send(Out {
            header,
            body: Frame::from(""),
        });
    }

    /// The control messages the other instances send.
    pub fn controls(&self) -> broadcast::Receiver<Value> {
        self.inner.controls.subscribe()
    }

    /// This instance's id.
    pub fn instance(&self) -> &str {
        &self.inner.instance
    }
}

/// The sending task: batches in publish order.
async fn send(pg: Postgres, mut rx: mpsc::UnboundedReceiver<Out>, shutdown: CancellationToken) {
    let seq = AtomicU64::new(0);
    let mut last_prune = tokio::time::Instant::now();
    loop {
        // After shutdown begins, the turns still record how they ended: keep sending until
        // nothing more comes for a while.
        let first = if shutdown.is_cancelled() {
            tokio::time::timeout(Duration::from_secs(2), rx.recv())
                .await
                .ok()
                .flatten()
        } else {
            tokio::select! {
                m = rx.recv() => m,
                () = shutdown.cancelled() => continue,
            }
        };
        let Some(first) = first else { return };
        let mut batch = vec![first];
        while batch.len() < BATCH {
            match rx.try_recv() {
                Ok(m) => batch.push(m),
                Err(_) => break,
            }
        }
        let mut payloads = Vec::with_capacity(batch.len());
        for Out { mut header, body } in batch {
            header.i = pg.instance().to_owned();
            header.n = seq.fetch_add(1, Ordering::Relaxed);
            match encode(&pg, header, &body).await {
                Some(p) => payloads.push(p),
                None => continue,
            }
        }
        if let Err(e) = pg.notify(EVENTS, &payloads).await {
            tracing::warn!(error = %e, events = payloads.len(), "cannot relay events to the other instances");
        }
        if last_prune.elapsed() > Duration::from_secs(60) {
            last_prune = tokio::time::Instant::now();
            if let Err(e) = pg.prune_payloads().await {
                tracing::debug!(error = %e, "cannot prune relayed event bodies");
            }
        }
    }
}

/// One payload: the header line, then the body (or, when too large, the header with `r`).
async fn encode(pg: &Postgres, mut header: Header, body: &str) -> Option<String> {
    let line = serde_json::to_string(&header).ok()?;
    if line.len() + 1 + body.len() <= MAX_PAYLOAD {
        return Some(format!("{line}\n{body}"));
    }
    match pg.put_payload(body).await {
        Ok(id) => {
            header.r = Some(id);
            serde_json::to_string(&header)
                .ok()
                .map(|l| format!("{l}\n"))
        }
        Err(e) => {
            tracing::warn!(error = %e, "cannot keep a large event for the other instances");
            None
        }
    }
}

/// The listening task: re-made when its connection ends, until `shutdown`.
async fn listen(
    pg: Postgres,
    hub: Hub,
    controls: broadcast::Sender<Value>,
    shutdown: CancellationToken,
    ready: tokio::sync::oneshot::Sender<()>,
) {
    let mut ready = Some(ready);
    let mut backoff = Duration::from_millis(200);
    while !shutdown.is_cancelled() {
        match pg.dedicated().await {
            Ok((client, mut messages)) => {
                match client.batch_execute(&format!("LISTEN {EVENTS}")).await {
                    Ok(()) => {
                        backoff = Duration::from_millis(200);
                        // This connection lives as long as the process: it carries the lock
                        // that tells the other instances this one is alive.
                        if let Err(e) = pg.hold_liveness(&client).await {
                            tracing::warn!(error = %e, "cannot take this instance's liveness lock");
                        }
                        if let Some(ready) = ready.take() {
                            let _ = ready.send(());
                        }
                        loop {
                            let n = tokio::select! {
                                n = messages.recv() => n,
                                () = shutdown.cancelled() => return,
                            };
                            let Some(n) = n else { break };
                            receive(&pg, &hub, &controls, n.payload()).await;
                        }
                        tracing::warn!(
                            "lost the connection that listens to the other instances; reconnecting"
                        );
                    }
                    Err(e) => tracing::warn!(error = %e, "cannot LISTEN for the other instances"),
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot connect to listen for the other instances")
            }
        }
        tokio::select! {
            () = tokio::time::sleep(backoff) => {}
            () = shutdown.cancelled() => return,
        }
        backoff = (backoff * 2).min(Duration::from_secs(5));
    }
}

/// Deliver one payload another instance sent.
async fn receive(pg: &Postgres, hub: &Hub, controls: &broadcast::Sender<Value>, payload: &str) {
    let (line, body) = payload.split_once('\n').unwrap_or((payload, ""));
    let Ok(header) = serde_json::from_str::<Header>(line) else {
        return tracing::warn!("an unreadable event from another instance was ignored");
    };
    if header.i == pg.instance() {
        return;
    }
    if let Some(c) = header.c {
        let _ = controls.send(c);
        return;
    }
    let body: Frame = match header.r {
        None => Frame::from(body),
        Some(id) => match pg.payload(id).await {
            Ok(Some(b)) => Frame::from(b),
            Ok(None) => return tracing::warn!(id, "a relayed event body is gone"),
            Err(e) => return tracing::warn!(error = %e, "cannot read a relayed event body"),
        },
    };
    match (&header.s, header.w) {
        (Some(s), _) => hub.deliver(Audience::Session(s), body),
        (None, true) => hub.deliver(
            Audience::Viewers {
                owner: header.o.as_deref(),
            },
            body,
        ),
        (None, false) => 0,
    };
}
