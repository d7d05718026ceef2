use serde_json::json;

use super::*;
use crate::files::attachments::AttachmentFiles;
use crate::store::testing::{session, store};

const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0";

/// Record an attachment of `sid` with these bytes on disk under `data`.
async fn upload(
    s: &Store,
    data: &Path,
    sid: &str,
    name: &str,
    mime: &str,
    bytes: &[u8],
) -> Attachment {
    let files = AttachmentFiles::new(data);
    let a = Attachment {
        id: crate::files::attachments::new_id(),
        session_id: sid.into(),
        workspace_id: "w".into(),
        kind: crate::files::attachments::kind_of(mime).into(),
        filename: name.into(),
        mime_type: mime.into(),
        content_type: sniff(bytes).content_type,
        size_bytes: bytes.len() as i64,
        access_key: crate::files::attachments::new_access_key(),
        created_at: crate::time::now_iso(),
    };
    let mut up = files.receive(sid).await.unwrap();
    up.write(bytes).await.unwrap();
    up.keep(files.path(sid, &a.id).unwrap()).await.unwrap();
    s.create_attachment(&a).await.unwrap();
    a
}

fn text_part(m: &Message, t: &str) -> Part {
    let Value::Object(data) = json!({"type": "text", "text": t}) else {
        unreachable!()
    };
    Part::new(m, 1, data)
}

#[tokio::test]
async fn attachments_become_parts_in_order_and_foreign_ones_are_skipped() {
    let (s, dir) = store().await;
    let sid = session(&s).await;
    let other = session(&s).await;
    let img = upload(&s, dir.path(), &sid, "shot.png", "image/png", PNG).await;
    let txt = upload(&s, dir.path(), &sid, "notes.txt", "text/plain", b"hello").await;
    let foreign = upload(&s, dir.path(), &other, "x.txt", "text/plain", b"x").await;
    let user = s.create_message(&Message::user(&sid, 10)).await.unwrap();
    let named = json!([
        {"id": txt.id, "kind": "file"},
        {"id": foreign.id, "kind": "file"},
        {"id": "att_unknown", "kind": "image"},
        {"id": img.id, "kind": "image"},
    ]);
    let parts = user_parts(&s, &user, 10, Some(&named)).await.unwrap();
    let data: Vec<Value> = parts
        .iter()
        .map(|p| Value::Object(p.data.clone()))
        .collect();
    assert_eq!(
        data,
        [
            json!({"type": "file", "url": txt.content_url(), "mimeType": "text/plain", "filename": "notes.txt"}),
            json!({"type": "image", "url": img.content_url(), "mimeType": "image/png"}),
        ]
    );
    assert_eq!((parts[0].created_at, parts[1].created_at), (11, 12));

    let described = describe(&s, &sid, Some(named)).await.unwrap().unwrap();
    assert_eq!(described[0]["filename"], "notes.txt");
    assert_eq!(described[0]["accessKey"], txt.access_key.as_str());
    assert_eq!(described[3]["mimeType"], "image/png");
    assert_eq!(
        described[1],
        json!({"id": foreign.id, "kind": "file"}),
        "not this session's"
    );
    assert_eq!(described[2], json!({"id": "att_unknown", "kind": "image"}));
    assert_eq!(describe(&s, &sid, Some(json!([]))).await.unwrap(), None);
}

#[tokio::test]
async fn the_model_gets_images_it_can_see_text_files_as_text_and_notes_otherwise() {
    let (s, dir) = store().await;
    let sid = session(&s).await;
    let img = upload(&s, dir.path(), &sid, "shot.png", "image/png", PNG).await;
    let txt = upload(&s, dir.path(), &sid, "notes.txt", "text/plain", b"line one").await;
    let bin = upload(
        &s,
        dir.path(),
        &sid,
        "a.bin",
        "application/octet-stream",
        b"\0\x01",
    )
    .await;
    let user = s.create_message(&Message::user(&sid, 10)).await.unwrap();
    let named = json!([{"id": img.id}, {"id": txt.id}, {"id": bin.id}]);
    let mut parts = vec![text_part(&user, "look")];
    parts.extend(user_parts(&s, &user, 10, Some(&named)).await.unwrap());
    let messages = vec![MessageWithParts {
        message: user,
        parts: parts.clone(),
    }];

    let seeing = load(&s, dir.path(), &messages, true).await;
    let content = user_content(&parts, &seeing).unwrap();
    let text = content[0]["text"].as_str().unwrap();
    assert!(
        text.starts_with("look\n\nUser attached a file: notes.txt"),
        "{text}"
    );
    assert!(text.contains("line one"), "{text}");
    assert!(text.contains("User attached a file: a.bin (type: application/octet-stream). Its content is not included"), "{text}");
    let url = content[1]["image_url"]["url"].as_str().unwrap();
    assert!(
        url.starts_with("data:image/png;base64,iVBORw0KGgo"),
        "{url}"
    );
    assert_eq!(content.as_array().unwrap().len(), 2);

    let blind = load(&s, dir.path(), &messages, false).await;
    let content = user_content(&parts, &blind).unwrap();
    let text = content.as_str().expect("text only");
    assert!(
        text.contains("User attached an image (type: image/png). This model does not take images"),
        "{text}"
    );
    assert!(text.contains("line one"), "{text}");
}

#[tokio::test]
async fn a_long_text_file_is_cut_and_says_so() {
    let (s, dir) = store().await;
    let sid = session(&s).await;
    let long = "x".repeat(TEXT_BYTES + 10);
    let a = upload(
        &s,
        dir.path(),
        &sid,
        "big.log",
        "text/plain",
        long.as_bytes(),
    )
    .await;
    let user = s.create_message(&Message::user(&sid, 10)).await.unwrap();
    let parts = user_parts(&s, &user, 10, Some(&json!([{"id": a.id}])))
        .await
        .unwrap();
    let messages = vec![MessageWithParts {
        message: user,
        parts: parts.clone(),
    }];
    let inputs = load(&s, dir.path(), &messages, true).await;
    let Some(Input::Text(t)) = inputs.get(&parts[0].id) else {
        panic!("text expected")
    };
    assert!(t.contains(&format!(
        "[truncated: the first {TEXT_BYTES} of {} bytes]",
        TEXT_BYTES + 10
    )));
    assert!(t.len() < TEXT_BYTES + 500);
}

#[test]
fn a_message_without_inputs_reads_its_attachments_as_notes() {
    let m = Message::user("s", 1);
    let Value::Object(data) = json!({"type": "file", "url": "/api/sessions/s/attachments/att_1/content?key=k", "mimeType": "application/pdf", "filename": "r.pdf"})
    else {
        unreachable!()
    };
    let file = Part::new(&m, 2, data);
    assert_eq!(attachment_id(&file), Some("att_1"));
    let content = user_content(&[file], &Inputs::default()).unwrap();
    assert!(
        content
            .as_str()
            .unwrap()
            .starts_with("User attached a file: r.pdf (type: application/pdf).")
    );
    assert_eq!(user_content(&[text_part(&m, "")], &Inputs::default()), None);
    assert_eq!(ids(Some(&json!([{"id": "a"}, {"kind": "x"}, 3]))), ["a"]);
    assert!(ids(Some(&json!("nope"))).is_empty());
}
