//! Attachments over REST (`PROTOCOL-AGENT.md` §12, §16 item 8): the multipart upload and the
//! list of a session's attachments (token required; the session is looked up in the caller's
//! scope, so OAuth users reach only their own), and the public content route, whose credential
//! is the attachment's own `?key=` (compared in constant time). What the bytes are is sniffed
//! at upload ([`crate::files::attachments::sniff`]) and served with that type, never the
//! client's claim, never as active content, with `nosniff` and a sandboxing CSP.

use crate::routes::Routes;
use axum::body::Body;
use axum::extract::multipart::{Field, MultipartError, MultipartRejection};
use axum::extract::{DefaultBodyLimit, Multipart, Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use serde_json::{Value, json};
use tower::ServiceExt as _;
use tower_http::services::ServeFile;

use super::Caller;
use crate::app::AppState;
use crate::error::{ApiJson, ApiQuery, AppError};
use crate::files::attachments::{self as files, AttachmentFiles, Incoming, MAX_BYTES};
use crate::store::StoreError;
use crate::store::attachments::Attachment;

const NO_FILE: &str = "No file provided. Use multipart/form-data with field name \"file\".";

/// Room for the multipart framing around a file of [`MAX_BYTES`]: a file just over the limit
/// is still read to its end and answered with the protocol's 413, not a cut connection.
const FRAMING_BYTES: u64 = 1024 * 1024;

/// `/sessions/:id/attachments` (under `/api`, behind the auth layer).
pub fn router() -> Routes {
    let limit = usize::try_from(MAX_BYTES + FRAMING_BYTES).unwrap_or(usize::MAX);
    Routes::new().route(
        "/api/sessions/{id}/attachments",
        get(list).post(upload).layer(DefaultBodyLimit::max(limit)),
    )
}

/// The content route, public (its key is its credential).
pub fn public_router() -> Routes {
    Routes::new().route(
        "/api/sessions/{id}/attachments/{attachment_id}/content",
        get(content),
    )
}

/// The attachment as the upload reply and the list show it (`url` with or without its key).
fn wire(a: &Attachment, url: String) -> Value {
    json!({
        "id": a.id,
        "kind": a.kind,
        "filename": a.filename,
        "mimeType": a.mime_type,
        "size": a.size_bytes,
        "url": url,
    })
}

async fn list(
    State(app): State<AppState>,
    Caller(scope): Caller,
    Path(id): Path<String>,
) -> Result<ApiJson<Value>, AppError> {
    let session = app.sessions.session(&scope, &id).await?;
    let all = app.store.session_attachments(&session.id).await?;
    let list: Vec<Value> = all.iter().map(|a| wire(a, a.content_path())).collect();
    Ok(ApiJson(json!({ "attachments": list })))
}

/// `POST /sessions/:id/attachments`: one file in the field `file`; checks in upstream's order.
async fn upload(
    State(app): State<AppState>,
    Caller(scope): Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<(StatusCode, ApiJson<Value>), AppError> {
    let session = app.sessions.session(&scope, &id).await?;
    // Not a multipart body at all: upstream answers 500; the same 400 as a missing file here.
    let mut multipart = multipart.map_err(|_| AppError::BadRequest(NO_FILE.into()))?;
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    // The first file part named `file` (other parts are skipped).
    let mut field = loop {
        match multipart.next_field().await {
            Ok(Some(f)) if f.name() == Some("file") && f.file_name().is_some() => break f,
            Ok(Some(_)) => continue,
            Ok(None) => return Err(AppError::BadRequest(NO_FILE.into())),
            Err(e) => return Err(body_error(e, declared, 0)),
        }
    };
    let filename = match field.file_name() {
        Some(n) if !n.is_empty() => n.to_owned(),
        _ => "unnamed".to_owned(),
    };
    let mime = match field.content_type() {
        Some(m) if !m.trim().is_empty() => m.trim().to_owned(),
        _ => "application/octet-stream".to_owned(),
    };
    let store_files = AttachmentFiles::new(&app.settings.data_dir);
    let incoming = receive(&mut field, &store_files, &session.id, declared).await?;
    let mime = checked_type(&mime, &incoming)?;
    let attachment = Attachment {
        id: files::new_id(),
        session_id: session.id.clone(),
        workspace_id: session.workspace_id.clone(),
        kind: files::kind_of(&mime).to_owned(),
        filename,
        content_type: files::sniff(incoming.head()).content_type,
        size_bytes: i64::try_from(incoming.size()).unwrap_or(i64::MAX),
        access_key: files::new_access_key(),
        created_at: crate::time::now_iso(),
        mime_type: mime,
    };
    let path = store_files
        .path(&session.id, &attachment.id)
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("attachment id is not a file name")))?;
    incoming
        .keep(path.clone())
        .await
        .map_err(AppError::internal)?;
    if let Err(e) = app.store.create_attachment(&attachment).await {
        // The session went away while the file came in: its folder is not kept.
        let _ = tokio::fs::remove_file(&path).await;
        return Err(e.into());
    }
    let body = wire(&attachment, attachment.content_url());
    Ok((StatusCode::CREATED, ApiJson(body)))
}

/// 413 in upstream's words; the size is what came in, or what the request declared when the
/// body was cut at the route's limit.
fn too_large(declared: Option<u64>, received: u64) -> AppError {
    let size = declared.unwrap_or(0).max(received);
    let mb = (size as f64 / (1024.0 * 1024.0)).round();
    AppError::PayloadTooLarge(format!(
        "File size ({mb} MB) exceeds the {} MB limit.",
        MAX_BYTES / (1024 * 1024)
    ))
}

fn body_error(e: MultipartError, declared: Option<u64>, received: u64) -> AppError {
    match e.status() {
        StatusCode::PAYLOAD_TOO_LARGE => too_large(declared, received),
        _ => AppError::BadRequest(format!("Malformed multipart body: {}", e.body_text())),
    }
}

/// Stream the field into a private temporary file of the session (bytes past the cap are
/// counted, not kept); 413 when it is over the cap.
async fn receive(
    field: &mut Field<'_>,
    files: &AttachmentFiles,
    session_id: &str,
    declared: Option<u64>,
) -> Result<Incoming, AppError> {
    let mut incoming = files
        .receive(session_id)
        .await
        .map_err(AppError::internal)?;
    loop {
        match field.chunk().await {
            Ok(Some(chunk)) => incoming.write(&chunk).await.map_err(AppError::internal)?,
            Ok(None) => break,
            Err(e) => return Err(body_error(e, declared, incoming.size())),
        }
    }
    if incoming.size() > MAX_BYTES {
        return Err(too_large(declared, incoming.size()));
    }
    Ok(incoming)
}

/// The MIME type to record, after upstream's checks (an image type outside png, jpeg, webp
/// and gif; an empty file) and one of ours: an `image` must be one of those images by its
/// bytes too, and is recorded with the type its bytes have. A `text/*` type without
/// parameters gets `;charset=utf-8`, as the original records it.
fn checked_type(claimed: &str, incoming: &Incoming) -> Result<String, AppError> {
    let essence = claimed
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let image = files::kind_of(&essence) == "image";
    if image && !files::IMAGE_TYPES.contains(&essence.as_str()) {
        return Err(AppError::BadRequest(format!(
            "Image type \"{claimed}\" is not supported. Allowed: png, jpeg, webp, gif."
        )));
    }
    if incoming.size() == 0 {
        return Err(AppError::BadRequest("File is empty.".into()));
    }
    if !image {
        // As the original answers (§16 item 8): a text type names its charset.
        if essence.starts_with("text/") && !claimed.contains(';') {
            return Ok(format!("{claimed};charset=utf-8"));
        }
        return Ok(claimed.to_owned());
    }
    match files::sniff(incoming.head()).image {
        Some(real) => Ok(real.to_owned()),
        None => Err(AppError::BadRequest(format!(
            "The file is not a png, jpeg, webp or gif image (its content does not match \"{claimed}\")."
        ))),
    }
}

#[derive(Debug, Deserialize)]
struct KeyQuery {
    key: Option<String>,
}

/// 401 in upstream's error shape (the auth layer's own body is for tokens).
fn missing_key() -> Response {
    let body = json!({"error": "unauthorized", "message": "Missing access key"});
    (StatusCode::UNAUTHORIZED, axum::Json(body)).into_response()
}

/// `GET /api/sessions/:id/attachments/:attachmentId/content?key=`: the bytes, with upstream's
/// checks in its order (key present, id and key match, same session, file on disk).
async fn content(
    State(app): State<AppState>,
    Path((session_id, attachment_id)): Path<(String, String)>,
    ApiQuery(q): ApiQuery<KeyQuery>,
    req: Request,
) -> Result<Response, AppError> {
    let Some(key) = q.key.filter(|k| !k.is_empty()) else {
        return Ok(missing_key());
    };
    let not_found = || AppError::NotFound("Attachment not found".into());
    let a = match app.store.attachment(&attachment_id).await {
        Ok(Some(a)) if files::key_matches(&key, &a.access_key) => a,
        Ok(_) => return Err(not_found()),
        Err(StoreError::NotFound(_)) => return Err(not_found()),
        Err(e) => return Err(e.into()),
    };
    if a.session_id != session_id {
        return Err(AppError::Forbidden("Session mismatch".into()));
    }
    let on_disk = || AppError::NotFound("Attachment file not found on disk".into());
    let path = AttachmentFiles::new(&app.settings.data_dir)
        .path(&a.session_id, &a.id)
        .ok_or_else(on_disk)?;
    if !tokio::fs::metadata(&path).await.is_ok_and(|m| m.is_file()) {
        return Err(on_disk());
    }
    let mime: mime::Mime = a
        .content_type
        .parse()
        .unwrap_or(mime::APPLICATION_OCTET_STREAM);
    let mut res = match ServeFile::new_with_mime(&path, &mime).oneshot(req).await {
        Ok(res) => res.map(Body::new),
        Err(e) => match e {},
    };
    let h = res.headers_mut();
    let disposition = files::disposition(mime.as_ref(), &a.filename);
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=86400"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; sandbox"),
    );
    Ok(res)
}
