//! Attachments in the chat: `chat.message` attachments become `image`/`file` parts after the
//! text part (and stay after a reload), the provider receives the image and the text file, a
//! model without image input gets a note, an attachment-only message is accepted (an empty
//! `queue.add` is not), and a queued message keeps its attachments into its turn.

use base64::Engine as _;
use serde_json::{Value, json};

use super::{PNG, uploaded};
use crate::chat::{app_for, client_with_session, recv_turn, recv_type, resume, send_chat, types};
use crate::fake_llm::{FakeLlm, Gate, Script};
use crate::helpers::{TestApp, WsClient};

fn attach(sid: &str, content: &str, atts: &[&Value]) -> Value {
    let list: Vec<Value> = atts
        .iter()
        .map(|a| json!({"id": a["id"], "kind": a["kind"]}))
        .collect();
    json!({"type": "chat.message", "sessionId": sid, "content": content, "attachments": list})
}

/// The user message parts (`part.created` of the user message) among a turn's events.
fn user_parts(events: &[Value]) -> Vec<Value> {
    let user = events
        .iter()
        .find(|e| e["type"] == "message.created" && e["message"]["role"] == "user")
        .expect("a user message")["message"]["id"]
        .clone();
    events
        .iter()
        .filter(|e| e["type"] == "part.created" && e["part"]["messageId"] == user)
        .map(|e| e["part"].clone())
        .collect()
}

/// The last user message the provider received in chat request `n`.
fn last_user(fake: &FakeLlm, n: usize) -> Value {
    let req = &fake.requests()[n];
    req["messages"]
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .find(|m| m["role"] == "user")
        .unwrap()
        .clone()
}

async fn two_uploads(app: &TestApp, sid: &str) -> (Value, Value) {
    let image = uploaded(app, sid, "shot.png", "image/png", PNG).await;
    let text = uploaded(app, sid, "notes.txt", "text/plain", b"hello from the file").await;
    (image, text)
}

#[tokio::test]
async fn an_image_and_a_text_file_reach_the_provider_and_stay_parts_after_a_reload() {
    let fake = FakeLlm::start().await;
    let app = app_for(&fake).await;
    let (mut ws, sid) = client_with_session(&app).await;
    let (image, text) = two_uploads(&app, &sid).await;
    ws.send_json(&attach(&sid, "look at these", &[&image, &text]))
        .await;
    let events = recv_turn(&mut ws).await;
    let parts = user_parts(&events);
    let kinds: Vec<&str> = parts.iter().map(|p| p["type"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["text", "image", "file"], "{:?}", types(&events));
    assert_eq!(parts[1]["url"], image["url"]);
    assert_eq!(parts[1]["mimeType"], "image/png");
    assert_eq!(
        (
            &parts[2]["url"],
            &parts[2]["mimeType"],
            &parts[2]["filename"]
        ),
        (
            &text["url"],
            &json!("text/plain;charset=utf-8"),
            &json!("notes.txt")
        )
    );

    let sent = last_user(&fake, 0);
    let content = sent["content"].as_array().expect("content parts");
    let said = content[0]["text"].as_str().unwrap();
    assert!(said.starts_with("look at these"), "{said}");
    assert!(
        said.contains("notes.txt") && said.contains("hello from the file"),
        "{said}"
    );
    let b64 = base64::engine::general_purpose::STANDARD.encode(PNG);
    assert_eq!(
        content[1],
        json!({"type": "image_url", "image_url": {"url": format!("data:image/png;base64,{b64}")}})
    );

    let mut again = app.ws(None).await.unwrap();
    again.register().await;
    let resumed = resume(&mut again, &sid).await;
    let stored = &resumed["messages"][0]["parts"];
    assert_eq!(stored.as_array().unwrap().len(), 3, "{stored}");
    for (n, part) in parts.iter().enumerate() {
        assert_eq!(&stored[n], part, "part {n} after a reload");
    }
}

#[tokio::test]
async fn a_model_without_image_input_gets_a_note_instead_of_the_image() {
    let fake = FakeLlm::start().await;
    let app = app_for(&fake).await;
    let (mut ws, sid) = client_with_session(&app).await;
    // Not in the catalog: not known to take images.
    ws.send_json(&json!({"type": "session.update_model", "sessionId": sid, "modelId": "plain-model", "providerId": "openai"}))
        .await;
    recv_type(&mut ws, "session.updated").await;
    let image = uploaded(&app, &sid, "shot.png", "image/png", PNG).await;
    ws.send_json(&attach(&sid, "what is this?", &[&image]))
        .await;
    recv_turn(&mut ws).await;
    let sent = last_user(&fake, 0);
    let said = sent["content"].as_str().expect("text only");
    assert!(
        said.starts_with("what is this?\n\nUser attached an image (type: image/png)."),
        "{said}"
    );
    assert!(!said.contains("base64"), "{said}");
}

#[tokio::test]
async fn an_attachment_only_message_is_accepted_but_an_empty_queue_add_is_not() {
    let fake = FakeLlm::start().await;
    let app = app_for(&fake).await;
    let (mut ws, sid) = client_with_session(&app).await;
    let text = uploaded(&app, &sid, "only.txt", "text/plain", b"just the file").await;

    ws.send_json(&json!({"type": "queue.add", "sessionId": sid, "content": " ", "attachments": [{"id": text["id"], "kind": "file"}]}))
        .await;
    let e = ws.expect("error").await;
    assert_eq!(
        (e["code"].as_str(), e["message"].as_str()),
        (Some("invalid_content"), Some("Content cannot be empty"))
    );
    send_chat(&mut ws, &sid, "").await;
    assert_eq!(
        ws.expect("error").await["code"],
        "invalid_content",
        "nothing at all"
    );

    ws.send_json(&attach(&sid, "", &[&text])).await;
    let events = recv_turn(&mut ws).await;
    let kinds: Vec<Value> = user_parts(&events)
        .iter()
        .map(|p| p["type"].clone())
        .collect();
    assert_eq!(kinds, [json!("text"), json!("file")]);
    let said = last_user(&fake, 0)["content"].as_str().unwrap().to_owned();
    assert!(said.starts_with("User attached a file: only.txt"), "{said}");
    assert!(said.contains("just the file"), "{said}");
}

/// Read frames until the reply streams its first chunk ("a").
async fn streaming(ws: &mut WsClient) {
    loop {
        let v = ws.recv_json().await;
        if v["type"] == "part.created" && v["part"]["text"] == "a" {
            return;
        }
    }
}

#[tokio::test]
async fn a_queued_message_keeps_its_attachments_into_its_turn() {
    let fake = FakeLlm::start().await;
    let app = app_for(&fake).await;
    let (mut ws, sid) = client_with_session(&app).await;
    let (image, text) = two_uploads(&app, &sid).await;
    let gate = Gate::new();
    fake.push(Script::held(&["a", "b"], 1, &gate));
    send_chat(&mut ws, &sid, "first").await;
    streaming(&mut ws).await;

    let list = json!([{"id": text["id"], "kind": "file"}, {"id": "att_unknown", "kind": "image"}, {"id": image["id"], "kind": "image"}]);
    ws.send_json(&json!({"type": "queue.add", "sessionId": sid, "content": "and these", "attachments": list}))
        .await;
    let added = ws.expect("queue.added").await;
    let queued = &added["message"]["attachments"];
    let key = |a: &Value| {
        a["url"]
            .as_str()
            .unwrap()
            .split("key=")
            .nth(1)
            .unwrap()
            .to_owned()
    };
    assert_eq!(
        queued[0],
        json!({"id": text["id"], "kind": "file", "filename": "notes.txt", "mimeType": "text/plain;charset=utf-8", "accessKey": key(&text)})
    );
    assert_eq!(
        queued[1],
        json!({"id": "att_unknown", "kind": "image"}),
        "unknown ids stay as given"
    );
    assert_eq!(queued[2]["accessKey"], key(&image).as_str());

    gate.open();
    recv_turn(&mut ws).await;
    let second = recv_turn(&mut ws).await;
    let parts = user_parts(&second);
    let kinds: Vec<&str> = parts.iter().map(|p| p["type"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["text", "file", "image"], "{:?}", types(&second));
    assert_eq!(parts[0]["text"], "and these");
    let sent = last_user(&fake, 1);
    let content = sent["content"].as_array().expect("with the image");
    assert!(
        content[0]["text"]
            .as_str()
            .unwrap()
            .contains("hello from the file")
    );
    assert_eq!(content[1]["type"], "image_url");
}
