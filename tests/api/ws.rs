//! The WebSocket endpoint: upgrade auth, register, parse errors, heartbeat, limits, shutdown.

use std::time::Duration;

use futures_util::SinkExt;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use crate::helpers::*;

#[tokio::test]
async fn ws_upgrade_follows_the_token_both_ways() {
    let off = spawn_app().await;
    assert!(off.ws(None).await.is_ok(), "auth off: no token needed");

    let on = spawn_app_with_token().await;
    assert_eq!(on.ws(None).await.err(), Some(401), "missing token");
    assert_eq!(on.ws(Some("nope")).await.err(), Some(401), "wrong token");
    assert!(on.ws(Some(TOKEN)).await.is_ok(), "right token");
}

#[tokio::test]
async fn ws_refusal_has_the_upstream_body() {
    let app = spawn_app_with_token().await;
    let res = app
        .client
        .get(app.url("/ws"))
        .header("Connection", "Upgrade")
        .header("Upgrade", "websocket")
        .header("Sec-WebSocket-Version", "13")
        .header("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let body: Value = res.json().await.unwrap();
    assert_eq!(
        body,
        json!({"error":"Unauthorized","message":"Invalid or missing API token for WebSocket connection"})
    );
}

#[tokio::test]
async fn get_ws_without_upgrade_is_400() {
    let app = spawn_app().await;
    assert_eq!(app.get("/ws").await.status(), 400);
}

#[tokio::test]
async fn register_answers_registered_with_the_same_descriptor() {
    let app = spawn_app_with_token().await;
    let mut ws = app.ws(Some(TOKEN)).await.unwrap();
    let reply = ws.register().await;
    assert_eq!(reply["client"]["clientType"], "web");
    assert!(reply["connectionId"].is_string());
    assert!(reply["serverTime"].is_i64());
}

#[tokio::test]
async fn invalid_descriptor_is_rejected_and_connection_stays() {
    let app = spawn_app().await;
    let mut ws = app.ws(None).await.unwrap();
    ws.send_json(&json!({"type":"client.register","client":{"clientId":"","clientType":"web"}}))
        .await;
    let v = ws.recv_json().await;
    assert_eq!(v["type"], "client.rejected");
    assert_eq!(v["code"], "invalid_client");
    ws.register().await;
}

#[tokio::test]
async fn bad_json_gets_parse_error_unknown_type_gets_unknown_message() {
    let app = spawn_app().await;
    let mut ws = app.ws(None).await.unwrap();
    ws.send_text("{not json").await;
    let v = ws.recv_json().await;
    assert_eq!(
        (v["type"].as_str(), v["code"].as_str()),
        (Some("error"), Some("parse_error"))
    );
    ws.send_json(&json!({"type":"no.such.thing"})).await;
    let v = ws.recv_json().await;
    assert_eq!(
        v,
        json!({"type":"error","code":"unknown_message","message":"Unknown message type"})
    );
    // pong and notification.acknowledge get no reply.
    ws.send_json(&json!({"type":"pong"})).await;
    ws.send_json(
        &json!({"type":"notification.acknowledge","eventId":"message:x:completed","sessionId":"s"}),
    )
    .await;
    ws.expect_nothing_before_barrier("pong and notification.acknowledge get no reply")
        .await;
    // Still usable.
    ws.register().await;
}

#[tokio::test]
async fn server_pings_and_closes_after_missed_heartbeats() {
    // A client that never answers: whatever the timing, three pings and then the close.
    let app = spawn_app_with(|s| s.ws_heartbeat = Duration::from_millis(50)).await;
    let mut ws = app.ws(None).await.unwrap();
    let mut pings = 0;
    loop {
        match ws.next_message().await {
            Some(Message::Text(t)) => {
                let v: Value = serde_json::from_str(&t).unwrap();
                assert_eq!(v["type"], "ping");
                pings += 1;
            }
            Some(Message::Close(Some(frame))) => {
                assert_eq!(frame.code, CloseCode::Normal);
                assert_eq!(frame.reason, "Heartbeat timeout");
                break;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(pings, 3, "three unanswered pings, then close");
}

#[tokio::test]
async fn answering_pings_keeps_the_connection_open() {
    // Unanswered, the third ping is the last (above); answered, a fourth comes, and more.
    // Counted, not timed: the server closes only after three periods without a pong, which
    // leaves a busy machine ~600 ms to answer each ping.
    let app = spawn_app_with(|s| s.ws_heartbeat = Duration::from_millis(200)).await;
    let mut ws = app.ws(None).await.unwrap();
    for ping in 1..=5 {
        match ws.next_message().await {
            Some(Message::Text(t)) if t.contains("\"ping\"") => {
                ws.send_json(&json!({"type":"pong"})).await;
            }
            other => panic!("ping {ping}: unexpected {other:?}"),
        }
    }
}

#[tokio::test]
async fn oversized_frame_closes_with_1009() {
    let app = spawn_app().await;
    let mut ws = app.ws(None).await.unwrap();
    let big = format!(
        "{{\"type\":\"pong\",\"pad\":\"{}\"}}",
        "x".repeat(2 * 1024 * 1024)
    );
    let _ = ws.stream.send(Message::Text(big.into())).await;
    loop {
        match ws.next_message().await {
            Some(Message::Close(Some(frame))) => {
                assert_eq!(frame.code, CloseCode::Size);
                break;
            }
            Some(Message::Text(_)) => continue,
            other => panic!("expected a 1009 close, got {other:?}"),
        }
    }
    // The server is fine.
    assert_eq!(app.get("/api/health").await.status(), 200);
}

#[tokio::test]
async fn shutdown_sends_every_socket_a_close_frame() {
    let app = spawn_app().await;
    let mut a = app.ws(None).await.unwrap();
    let mut b = app.ws(None).await.unwrap();
    a.register().await;
    b.register().await;
    let stopping = tokio::spawn(app.stop());
    for ws in [&mut a, &mut b] {
        match ws.next_message().await {
            Some(Message::Close(Some(frame))) => assert_eq!(frame.code, CloseCode::Away),
            other => panic!("expected close frame, got {other:?}"),
        }
    }
    stopping.await.unwrap();
}
