//! A graceful stop in the middle of a reply: the turn ends with "the server shut down" and that
//! is what the next start shows (the store closes only after the turn recorded its end).

use super::*;
use crate::fake_llm::{Gate, Script};
use crate::helpers::spawn_on;

#[tokio::test]
async fn stopping_the_server_mid_reply_records_that_the_server_shut_down() {
    let fake = FakeLlm::start().await;
    // A reply held open after two chunks: only the stop can end it.
    let gate = Gate::new();
    fake.push(Script::held(&["Once ", "upon ", "a time"], 2, &gate));
    let app = app_for(&fake).await;
    let settings = app.settings.clone();
    let (mut ws, sid) = client_with_session(&app).await;
    send_chat(&mut ws, &sid, "a very long story").await;
    // Barrier: the reply is streaming (its text part exists) before the stop.
    let streamed = recv_until(&mut ws, "part.append").await;
    assert!(types(&streamed).contains(&"part.created".to_owned()));

    let dir = app.stop().await;
    drop(ws);

    let app = spawn_on(dir, settings).await;
    let mut ws = app.ws(None).await.expect("ws");
    ws.register().await;
    let resumed = resume(&mut ws, &sid).await;
    assert_eq!(resumed["isRunning"], false, "{resumed}");
    assert!(resumed["session"]["runningAt"].is_null());
    let messages = resumed["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 2, "user + assistant: {resumed}");
    let reply = &messages[1]["message"];
    assert_eq!(reply["status"], "interrupted", "{reply}");
    assert_eq!(
        reply["error"], "Interrupted: the server shut down",
        "the turn recorded the shutdown itself, not the crash recovery: {reply}"
    );
}
