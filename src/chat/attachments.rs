//! Attachments in the chat (`PROTOCOL-AGENT.md` §10, §12): the `[{id, kind}]` a message names
//! become one `image` or `file` part each after the user's text part (ids of other sessions,
//! or unknown, are skipped), a queued message carries the upload's `filename`, `mimeType` and
//! `accessKey`, and what the model receives for each part ([`load`]):
//!
//! - an image, for a model whose catalog entry takes images (`capabilities.input.image`): the
//!   image itself, as a `data:` URL content part;
//! - a file that is text (UTF-8 without NUL bytes): its content, up to [`TEXT_BYTES`] per file;
//! - anything else (an image for a model without image input, a binary file, a file missing on
//!   disk, or beyond the per-request budgets): a note naming the file and its type.
//!
//! Budgets keep one request bounded however many files a session collected: images up to
//! [`IMAGE_BUDGET`] bytes and file text up to [`TEXT_BUDGET`] bytes per request, newest first.

use std::collections::HashMap;
use std::path::Path;

use base64::Engine as _;
use serde_json::{Map, Value, json};
use tokio::io::AsyncReadExt as _;

use crate::files::attachments::{AttachmentFiles, sniff};
use crate::store::attachments::Attachment;
use crate::store::{Message, MessageWithParts, Part, Role, Store, StoreError};

/// The most of one text file the model reads.
pub const TEXT_BYTES: usize = 64 * 1024;
/// The most file text in one request.
pub const TEXT_BUDGET: usize = 256 * 1024;
/// The most image bytes (before base64) in one request.
pub const IMAGE_BUDGET: u64 = 40 * 1024 * 1024;

/// The attachment ids a message names (`[{id, kind}]`), in order; anything else is ignored.
pub fn ids(attachments: Option<&Value>) -> Vec<String> {
    attachments
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(|a| a.get("id").and_then(Value::as_str))
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// The attachment `id` if it belongs to `session_id`.
async fn of_session(
    store: &Store,
    session_id: &str,
    id: &str,
) -> Result<Option<Attachment>, StoreError> {
    Ok(store
        .attachment(id)
        .await?
        .filter(|a| a.session_id == session_id))
}

/// A queued message's attachments with `filename`, `mimeType` and `accessKey` filled in from
/// the upload; an entry whose id the session does not know stays as it was. `None` for none.
pub async fn describe(
    store: &Store,
    session_id: &str,
    attachments: Option<Value>,
) -> Result<Option<Value>, StoreError> {
    let Some(Value::Array(list)) = attachments else {
        return Ok(None);
    };
    if list.is_empty() {
        return Ok(None);
    }
    let mut out = Vec::with_capacity(list.len());
    for mut entry in list {
        let id = entry.get("id").and_then(Value::as_str).map(str::to_owned);
        if let (Some(id), Some(o)) = (id, entry.as_object_mut())
            && let Some(a) = of_session(store, session_id, &id).await?
        {
            o.insert("filename".into(), a.filename.into());
            o.insert("mimeType".into(), a.mime_type.into());
            o.insert("accessKey".into(), a.access_key.into());
        }
        out.push(entry);
    }
    Ok(Some(Value::Array(out)))
}

/// The parts of the user message for its attachments (created, in request order, one
/// millisecond apart after `after` so they keep their order on reload).
pub async fn user_parts(
    store: &Store,
    user: &Message,
    after: i64,
    attachments: Option<&Value>,
) -> Result<Vec<Part>, StoreError> {
    let mut parts = Vec::new();
    for id in ids(attachments) {
        let Some(a) = of_session(store, &user.session_id, &id).await? else {
            continue;
        };
        let mut data = Map::new();
        let image = a.kind == "image";
        data.insert("type".into(), if image { "image" } else { "file" }.into());
        data.insert("url".into(), a.content_url().into());
        data.insert("mimeType".into(), a.mime_type.clone().into());
        if !image {
            data.insert("filename".into(), a.filename.clone().into());
        }
        let part = Part::new(user, after + 1 + parts.len() as i64, data);
        store.create_part(&part).await?;
        parts.push(part);
    }
    Ok(parts)
}

/// What the model gets for one attachment part.
#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    /// An image content part (`data:` URL).
    Image(String),
    /// Text in place of the part: a file's content, or a note.
    Text(String),
}

/// The model's input for the attachment parts of a conversation, by part id. A part without
/// an entry gets [`note`].
#[derive(Debug, Default)]
pub struct Inputs(HashMap<String, Input>);

impl Inputs {
    pub fn get(&self, part_id: &str) -> Option<&Input> {
        self.0.get(part_id)
    }
}

/// Whether a part is an attachment (`image` or `file`).
pub fn is_attachment(p: &Part) -> bool {
    matches!(p.kind(), "image" | "file")
}

fn field<'a>(p: &'a Part, key: &str) -> &'a str {
    p.data.get(key).and_then(Value::as_str).unwrap_or("")
}

/// The text that stands for an attachment the model does not get.
pub fn note(p: &Part) -> String {
    let name = match field(p, "filename") {
        "" => "unnamed",
        n => n,
    };
    if p.kind() == "image" {
        return format!(
            "User attached an image (type: {}). This model does not take images; ask the user \
             to describe it if its contents matter.",
            field(p, "mimeType")
        );
    }
    format!(
        "User attached a file: {name} (type: {}). Its content is not included (it is not \
         text, or too large for this request); ask the user about it if it matters.",
        field(p, "mimeType")
    )
}

/// The attachment id in a part's content URL (`/api/sessions/<sid>/attachments/<id>/content`).
fn attachment_id(p: &Part) -> Option<&str> {
    let path = field(p, "url").split('?').next()?;
    let rest = path.strip_prefix("/api/sessions/")?;
    let (_, rest) = rest.split_once("/attachments/")?;
    rest.strip_suffix("/content")
}

/// Read what the model gets for the attachment parts of the users' messages, newest first
/// within the budgets. `images`: whether the model takes images.
pub async fn load(
    store: &Store,
    data_dir: &Path,
    messages: &[MessageWithParts],
    images: bool,
) -> Inputs {
    let files = AttachmentFiles::new(data_dir);
    let mut out = HashMap::new();
    let (mut image_room, mut text_room) = (IMAGE_BUDGET, TEXT_BUDGET);
    let mut parts: Vec<&Part> = Vec::new();
    for m in messages.iter().rev() {
        if m.message.role == Role::User {
            parts.extend(m.parts.iter().filter(|p| is_attachment(p)));
        }
    }
    for p in parts {
        let Some(id) = attachment_id(p) else { continue };
        let a = match store.attachment(id).await {
            Ok(Some(a)) if a.session_id == p.session_id => a,
            Ok(_) => continue,
            Err(e) => {
                tracing::warn!(attachment.id = %id, error = %e, "cannot read an attachment");
                continue;
            }
        };
        let Some(path) = files.path(&a.session_id, &a.id) else {
            continue;
        };
        let input = if a.kind == "image" {
            if !images || a.size_bytes as u64 > image_room {
                continue;
            }
            image_room -= a.size_bytes as u64;
            read_image(&path, &a.mime_type).await
        } else {
            let text = read_text(&path, &a, text_room).await;
            if let Some(Input::Text(t)) = &text {
                text_room = text_room.saturating_sub(t.len());
            }
            text
        };
        if let Some(input) = input {
            out.insert(p.id.clone(), input);
        }
    }
    Inputs(out)
}

async fn read_image(path: &Path, mime: &str) -> Option<Input> {
    match tokio::fs::read(path).await {
        Ok(bytes) => {
            let data = base64::engine::general_purpose::STANDARD.encode(bytes);
            Some(Input::Image(format!("data:{mime};base64,{data}")))
        }
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "cannot read an attached image");
            None
        }
    }
}

/// A text file's content for the model (at most [`TEXT_BYTES`] and `room`); `None` when it
/// is not text or there is no room.
async fn read_text(path: &Path, a: &Attachment, room: usize) -> Option<Input> {
    let limit = TEXT_BYTES.min(room);
    if limit == 0 {
        return None;
    }
    let file = tokio::fs::File::open(path).await.ok()?;
    let mut head = Vec::with_capacity(limit);
    file.take(limit as u64).read_to_end(&mut head).await.ok()?;
    if !sniff(&head).text {
        return None;
    }
    let text = String::from_utf8_lossy(&head);
    // A character cut at the limit reads as one replacement character: drop it.
    let text = text.trim_end_matches('\u{FFFD}');
    let total = u64::try_from(a.size_bytes).unwrap_or(0);
    let cut = if total > head.len() as u64 {
        format!("\n[truncated: the first {} of {total} bytes]", head.len())
    } else {
        String::new()
    };
    Some(Input::Text(format!(
        "User attached a file: {} (type: {}). Its content:\n<attachment name=\"{}\">\n{text}{cut}\n</attachment>",
        a.filename, a.mime_type, a.filename
    )))
}

/// The content of a user message for the provider: the text parts, then each attachment as
/// its input; a string, or an array with the images when there are any. `None` when empty.
pub fn user_content(parts: &[Part], inputs: &Inputs) -> Option<Value> {
    let mut text: Vec<String> = Vec::new();
    let mut images: Vec<Value> = Vec::new();
    for p in parts {
        match p.kind() {
            "text" => text.push(field(p, "text").to_owned()),
            "image" | "file" => match inputs.get(&p.id) {
                Some(Input::Image(url)) => {
                    images.push(json!({"type": "image_url", "image_url": {"url": url}}));
                }
                Some(Input::Text(t)) => text.push(t.clone()),
                None => text.push(note(p)),
            },
            _ => {}
        }
    }
    let text = text
        .into_iter()
        .filter(|t| !t.is_empty())
        .collect::<Vec<_>>()
        .join("\n\n");
    if images.is_empty() {
        return (!text.is_empty()).then_some(Value::String(text));
    }
    let mut content = Vec::with_capacity(images.len() + 1);
    if !text.is_empty() {
        content.push(json!({"type": "text", "text": text}));
    }
    content.extend(images);
    Some(Value::Array(content))
}

#[cfg(test)]
#[path = "attachments_tests.rs"]
mod tests;
