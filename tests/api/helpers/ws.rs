//! A WebSocket client speaking JSON text frames, and the barrier that replaces "expect
//! silence": to show that the server sent a connection nothing, send a message whose answer is
//! certain and check that this answer is the next frame.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// How long a read waits before the test is declared hung. Not a claim about speed: the
/// suite runs on two busy cores.
pub const HUNG: Duration = Duration::from_secs(30);

static BARRIERS: AtomicU64 = AtomicU64::new(0);

pub struct WsClient {
    pub stream: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

impl WsClient {
    pub async fn send_json(&mut self, v: &Value) {
        self.stream
            .send(Message::Text(v.to_string().into()))
            .await
            .expect("ws send");
    }

    pub async fn send_text(&mut self, text: &str) {
        self.stream
            .send(Message::Text(text.to_owned().into()))
            .await
            .expect("ws send");
    }

    /// The next frame of any kind (`None` when the stream ended).
    pub async fn next_message(&mut self) -> Option<Message> {
        self.next_message_until(tokio::time::Instant::now() + HUNG)
            .await
    }

    async fn next_message_until(&mut self, deadline: tokio::time::Instant) -> Option<Message> {
        tokio::time::timeout_at(deadline, self.stream.next())
            .await
            .unwrap_or_else(|_| panic!("no ws message within {HUNG:?}: the test is hung"))
            .map(|r| r.expect("ws read"))
    }

    /// The next JSON text frame, skipping server pings (which do not count as progress).
    pub async fn recv_json(&mut self) -> Value {
        let deadline = tokio::time::Instant::now() + HUNG;
        loop {
            match self.next_message_until(deadline).await {
                Some(Message::Text(t)) => {
                    let v: Value = serde_json::from_str(&t).expect("json frame");
                    if v["type"] != "ping" {
                        return v;
                    }
                }
                Some(Message::Close(f)) => panic!("unexpected close: {f:?}"),
                Some(_) => {}
                None => panic!("ws ended"),
            }
        }
    }

    /// Receive the next frame and check its `type`.
    pub async fn expect(&mut self, kind: &str) -> Value {
        let v = self.recv_json().await;
        assert_eq!(v["type"], kind, "expected {kind}, got {v}");
        v
    }

    /// Send `client.register` with a valid descriptor and return `client.registered`.
    pub async fn register(&mut self) -> Value {
        self.send_json(&json!({
            "type": "client.register",
            "client": {"clientId": uuid::Uuid::new_v4().to_string(), "clientType": "web",
                       "displayName": "Jean2 Web", "interactionMode": "human", "capabilities": []}
        }))
        .await;
        let v = self.recv_json().await;
        assert_eq!(v["type"], "client.registered", "{v}");
        v
    }

    /// Send a barrier: a message whose answer is certain, immediate and for this connection
    /// only, with no effect on the server. It is a `session.rename` of a session that cannot
    /// exist, with an empty title; the answer is an `error` (`invalid_message`, or
    /// `forbidden` for a read-only token) carrying the returned id as `sessionId`.
    pub async fn send_barrier(&mut self) -> String {
        let n = BARRIERS.fetch_add(1, Ordering::Relaxed);
        let id = format!("barrier-{n}");
        self.send_json(&json!({"type": "session.rename", "sessionId": id, "title": ""}))
            .await;
        id
    }

    /// Everything this connection receives (pings aside) before the answer to a barrier sent
    /// now. The server handles a connection's messages in order and queues what it sends a
    /// connection in order, so these are exactly the frames the server had queued for it
    /// before it read the barrier.
    pub async fn frames_before_barrier(&mut self) -> Vec<Value> {
        let id = self.send_barrier().await;
        let mut before = Vec::new();
        loop {
            let v = self.recv_json().await;
            if v["type"] == "error" && v["sessionId"] == id.as_str() {
                return before;
            }
            before.push(v);
        }
    }

    /// Assert that the server sent this connection nothing (pings aside) since the last frame
    /// read: the next frame is the answer to a barrier sent now. Replaces "wait N ms and
    /// expect silence", which passes trivially on a slow machine. What a later task of the
    /// server might still send is not covered: first wait for a sign that the task is done.
    pub async fn expect_nothing_before_barrier(&mut self, label: &str) {
        let before = self.frames_before_barrier().await;
        assert!(
            before.is_empty(),
            "{label}: expected nothing before the barrier, got {before:#?}"
        );
    }
}
