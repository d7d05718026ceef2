//! A fork owns copies of the attachments its messages show (§11.1 "independent afterwards"):
//! new ids and keys under the fork's session, served after the source is deleted, and sent to
//! the model on the fork's next turn; an upload no copied message shows is not copied.

use reqwest::Method;
use serde_json::{Value, json};

use super::{PNG, files_on_disk, get_raw, key_of, uploaded};
use crate::chat::{app_for, client_with_session, recv_turn, recv_type, send_chat};
use crate::fake_llm::{FakeLlm, Script};

#[tokio::test]
async fn a_fork_gets_its_own_copies_of_the_attachments_and_keeps_them_when_the_source_goes() {
    let fake = FakeLlm::start().await;
    fake.push(Script::reply(&["A picture."]));
    fake.push(Script::reply(&["Still a picture."]));
    let app = app_for(&fake).await;
    let (mut ws, sid) = client_with_session(&app).await;
    let image = uploaded(&app, &sid, "shot.png", "image/png", PNG).await;
    uploaded(&app, &sid, "unsent.txt", "text/plain", b"never sent").await;
    ws.send_json(
        &json!({"type": "chat.message", "sessionId": sid, "content": "see",
                         "attachments": [{"id": image["id"], "kind": image["kind"]}]}),
    )
    .await;
    let events = recv_turn(&mut ws).await;
    let user = events
        .iter()
        .find(|e| e["type"] == "message.created")
        .unwrap()["message"]["id"]
        .clone();
    ws.send_json(&json!({"type": "session.fork", "sessionId": sid, "messageId": user}))
        .await;
    let forked = recv_type(&mut ws, "session.forked").await;
    let fid = forked["forkedSession"]["id"].as_str().unwrap().to_owned();
    let parts = forked["messages"][0]["parts"].as_array().unwrap();
    let copy = parts.iter().find(|p| p["type"] == "image").unwrap();
    let url = copy["url"].as_str().unwrap();
    assert!(
        url.starts_with(&format!("/api/sessions/{fid}/attachments/att_")),
        "{url}"
    );
    assert_ne!(url, image["url"].as_str().unwrap());
    assert!(!url.contains(&key_of(&image)), "a key of its own: {url}");
    assert_eq!(
        files_on_disk(&app).len(),
        3,
        "the shown image is copied, the unsent upload is not"
    );

    let (status, _) = app
        .call(Method::DELETE, &format!("/api/sessions/{sid}"), None)
        .await;
    assert_eq!(status, 200);
    let served = get_raw(&app, url).await;
    assert_eq!(served.status(), 200);
    assert_eq!(served.bytes().await.unwrap().as_ref(), PNG);
    assert_eq!(files_on_disk(&app).len(), 1);

    // The fork's next turn still shows the model the image.
    ws.send_json(&json!({"type": "session.resume", "sessionId": fid}))
        .await;
    recv_type(&mut ws, "session.resumed").await;
    send_chat(&mut ws, &fid, "and now?").await;
    recv_turn(&mut ws).await;
    let sent = &fake.requests()[1]["messages"];
    let first_user = sent
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["role"] == "user")
        .unwrap();
    let content: &Value = &first_user["content"];
    assert!(
        content
            .as_array()
            .is_some_and(|c| c.iter().any(|p| p["type"] == "image_url")),
        "{content}"
    );
}
