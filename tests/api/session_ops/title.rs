//! `session.generate_title` (§11.4): a forced title replaces even a hand-set one, while
//! automatic titles never do; failures carry the `sessionId`.

use serde_json::json;

use super::*;
use crate::chat::{app_for, client_with_session, recv_type, wait_idle};

#[tokio::test]
async fn a_requested_title_replaces_a_hand_set_one_which_automatic_titles_never_touch() {
    let fake = FakeLlm::start().await;
    let app = app_for(&fake).await;
    let (mut ws, sid) = client_with_session(&app).await;
    ws.send_json(&json!({"type": "session.rename", "sessionId": sid, "title": "Mine"}))
        .await;
    recv_type(&mut ws, "session.renamed").await;
    turn(&mut ws, &sid, "tell me about lighthouses").await;
    wait_idle(&mut ws, &sid).await;
    ws.expect_nothing_before_barrier("no automatic title over a hand-set one")
        .await;
    assert!(
        fake.title_requests().is_empty(),
        "no title was even asked for"
    );

    ws.send_json(&json!({"type": "session.generate_title", "sessionId": sid}))
        .await;
    let renamed = ws.expect("session.renamed").await;
    assert_eq!(renamed["session"]["id"], sid.as_str());
    assert_eq!(renamed["session"]["title"], "Fake Title");
    let asked = fake.title_requests();
    assert_eq!(asked.len(), 1);
    let conversation = asked[0]["messages"][1]["content"].as_str().unwrap();
    assert!(
        conversation.contains("lighthouses") && conversation.contains("Hello there"),
        "{conversation}"
    );
    let resumed = resume(&mut ws, &sid).await;
    assert_eq!(resumed["session"]["title"], "Fake Title", "stored");
}

#[tokio::test]
async fn a_title_that_cannot_be_made_is_an_error_naming_the_session() {
    let fake = FakeLlm::start().await;
    let app = app_for(&fake).await;
    let (mut ws, sid) = client_with_session(&app).await;
    let ask = |s: &str| json!({"type": "session.generate_title", "sessionId": s});

    let e = refused(&mut ws, ask(&sid)).await;
    assert_eq!(e["code"], "title_generation_error", "{e}");
    assert_eq!(
        e["message"],
        "Could not generate a title from the conversation."
    );
    assert_eq!(e["sessionId"], sid.as_str());

    fake.fail_titles(500);
    let events = turn(&mut ws, &sid, "hello").await;
    // The automatic title fails too (and says so), before or after the turn's last event;
    // then the requested one.
    let auto = match events.iter().find(|e| e["type"] == "error") {
        Some(e) => e.clone(),
        None => recv_type(&mut ws, "error").await,
    };
    assert_eq!(auto["code"], "title_generation_error");
    let e = refused(&mut ws, ask(&sid)).await;
    assert_eq!(e["code"], "title_generation_error", "{e}");
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .starts_with("Title generation failed"),
        "{e}"
    );
    assert_eq!(e["sessionId"], sid.as_str());

    let e = refused(&mut ws, ask("no-such-session")).await;
    assert_eq!(
        (e["code"].as_str(), e["sessionId"].as_str()),
        (Some("not_found"), Some("no-such-session"))
    );
}
