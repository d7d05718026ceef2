//! Connection hygiene: malformed JSON keeps the connection, oversized frames close with 1009,
//! a client that stops reading is disconnected without slowing the others, and connections
//! beyond `JEAN2_MAX_CONNECTIONS` are closed at once.

use std::time::Duration;

use futures_util::StreamExt;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use crate::helpers::*;

#[tokio::test]
async fn malformed_json_gets_parse_error_and_the_connection_stays_usable() {
    let app = spawn_app().await;
    let mut ws = app.ws(None).await.unwrap();
    for bad in ["{", "[1,2]", "\"just a string\""] {
        ws.send_text(bad).await;
        let err = ws.expect("error").await;
        assert_eq!(err["code"], "parse_error", "{bad}");
    }
    ws.register().await;
}

#[tokio::test]
async fn a_frame_over_one_mebibyte_closes_with_1009() {
    let app = spawn_app().await;
    let mut ws = app.ws(None).await.unwrap();
    let big = format!(
        "{{\"type\":\"pong\",\"pad\":\"{}\"}}",
        "x".repeat(1024 * 1024 + 10)
    );
    ws.send_text(&big).await;
    loop {
        match ws.next_message().await {
            Some(Message::Close(Some(frame))) => {
                assert_eq!(frame.code, CloseCode::Size);
                break;
            }
            Some(Message::Close(None)) | None => panic!("closed without 1009"),
            Some(_) => {}
        }
    }
    // Just under the limit is fine.
    let mut ws = app.ws(None).await.unwrap();
    let ok = format!(
        "{{\"type\":\"pong\",\"pad\":\"{}\"}}",
        "x".repeat(1024 * 1000)
    );
    ws.send_text(&ok).await;
    ws.register().await;
}

#[tokio::test]
async fn a_client_that_stops_reading_is_disconnected_and_others_keep_up() {
    let app = spawn_app().await;
    let wid = app.create_workspace("W").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let sid = app.create_session(&wid).await["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let resume = json!({"type": "session.resume", "sessionId": sid});
    let mut slow = app.ws(None).await.unwrap();
    slow.send_json(&resume).await;
    slow.expect("session.resumed").await;
    slow.expect("ask.pending_sync").await;
    let mut fast = app.ws(None).await.unwrap();
    fast.send_json(&resume).await;
    fast.expect("session.resumed").await;
    fast.expect("ask.pending_sync").await;

    // `slow` stops reading. Renames with a 100 KB title fill its socket and then its queue.
    let mut writer = app.ws(None).await.unwrap();
    let title = "t".repeat(100 * 1024);
    let renames = 450;
    for i in 0..renames {
        writer.send_json(&json!({"type": "session.rename", "sessionId": sid, "title": format!("{i}{title}")})).await;
        let got = fast.expect("session.renamed").await;
        assert!(
            got["session"]["title"]
                .as_str()
                .unwrap()
                .starts_with(&i.to_string()),
            "in order"
        );
    }
    // The reader was not held back: it got every rename, in order, while `slow` read nothing.

    // Now read what `slow` was sent: fewer frames than were published, then the end.
    let mut received = 0;
    let ended = tokio::time::timeout(HUNG, async {
        loop {
            match slow.stream.next().await {
                Some(Ok(Message::Text(_))) => received += 1,
                Some(Ok(Message::Close(frame))) => return frame.map(|f| f.code),
                Some(Ok(_)) => {}
                Some(Err(_)) | None => return None,
            }
        }
    })
    .await
    .expect("the slow client's connection ends");
    eprintln!("slow client: received {received}, ended {ended:?}");
    assert!(
        received < renames,
        "frames were dropped, not all delivered late ({received})"
    );
    if let Some(code) = ended {
        assert_eq!(code, CloseCode::Again, "closed with 1013 (try again later)");
    }
}

/// A WebSocket, retried while the server still holds the slot of a connection that just
/// closed (it frees it once it has seen the close).
async fn ws_when_a_slot_is_free(app: &TestApp) -> WsClient {
    let deadline = tokio::time::Instant::now() + HUNG;
    loop {
        match tokio_tungstenite::connect_async(format!("ws://{}/ws", app.addr)).await {
            Ok((stream, _)) => return WsClient { stream },
            Err(e) => assert!(
                tokio::time::Instant::now() < deadline,
                "no free connection slot: {e}"
            ),
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn connections_over_the_cap_are_closed_unanswered_and_a_freed_slot_is_used_again() {
    let app = spawn_app_with(|s| s.max_connections = 2).await;
    // Two WebSockets hold both slots: a slot lives as long as its connection, upgraded too.
    let mut first = ws_when_a_slot_is_free(&app).await;
    let mut second = ws_when_a_slot_is_free(&app).await;
    first.register().await;
    second.register().await;

    // A third connection is closed without an answer.
    let mut third = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    let _ = third
        .write_all(b"GET /api/health HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await;
    let mut buf = [0u8; 64];
    let read = tokio::time::timeout(HUNG, third.read(&mut buf))
        .await
        .expect("the server closes it");
    assert!(
        matches!(read, Ok(0) | Err(_)),
        "closed without an answer: {:?}",
        read.map(|n| String::from_utf8_lossy(&buf[..n]).into_owned())
    );

    // Closing one WebSocket frees its slot for the next client; the other is untouched.
    first.stream.close(None).await.unwrap();
    let mut next = ws_when_a_slot_is_free(&app).await;
    next.register().await;
    second
        .expect_nothing_before_barrier("the other WebSocket")
        .await;
}
