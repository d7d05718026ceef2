//! Client → server messages (`PROTOCOL.md` §4.3), as one typed enum. A frame that is not a JSON
//! object with a string `type` is a `parse_error`; an unknown type is `unknown_message` (which
//! the client shows as a toast, so every type a normal client sends is listed here); a known type
//! with bad fields is `invalid_message`. What each type needs (the `write` scope) is decided in
//! one place, [`ClientMessage::needs_write`].

use serde::Deserialize;
use serde_json::Value;

/// The fields of `chat.message` and `queue.add`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChatFields {
    pub session_id: String,
    pub content: String,
    /// `[{id, kind}]` of uploaded attachments (kept with a queued message).
    pub attachments: Option<Value>,
}

/// Every message a client may send. Fields a type does not list are ignored.
#[derive(Debug, Deserialize)]
#[serde(tag = "type")]
pub enum ClientMessage {
    #[serde(rename = "pong")]
    Pong {},
    #[serde(rename = "client.register")]
    Register { client: Value },
    #[serde(rename = "session.create", rename_all = "camelCase")]
    SessionCreate {
        workspace_id: Option<String>,
        preconfig_id: Option<String>,
        title: Option<String>,
    },
    #[serde(rename = "session.resume", rename_all = "camelCase")]
    SessionResume { session_id: String },
    #[serde(rename = "session.rename", rename_all = "camelCase")]
    SessionRename { session_id: String, title: String },
    #[serde(rename = "session.close", rename_all = "camelCase")]
    SessionClose { session_id: String },
    #[serde(rename = "session.reopen", rename_all = "camelCase")]
    SessionReopen { session_id: String },
    #[serde(rename = "session.delete", rename_all = "camelCase")]
    SessionDelete { session_id: String },
    #[serde(rename = "session.update", rename_all = "camelCase")]
    SessionUpdate {
        session_id: String,
        preconfig_id: Option<String>,
    },
    #[serde(rename = "session.update_model", rename_all = "camelCase")]
    SessionUpdateModel {
        session_id: String,
        model_id: String,
        provider_id: String,
        variant: Option<String>,
    },
    #[serde(rename = "chat.message")]
    ChatMessage(ChatFields),
    /// Admitted like `chat.message` (a `queue.add` while nothing runs simply starts the turn:
    /// the client only believed one was running).
    #[serde(rename = "queue.add")]
    QueueAdd(ChatFields),
    #[serde(rename = "queue.remove", rename_all = "camelCase")]
    QueueRemove { queue_id: String },
    #[serde(rename = "session.interrupt", rename_all = "camelCase")]
    SessionInterrupt { session_id: String },
    // Routine traffic with nothing to answer yet, accepted silently: an error would show the
    // user a toast for something they did not ask for (`notification.acknowledge` follows every
    // reply; permission lists and control claims come with opening a session).
    #[serde(rename = "notification.acknowledge")]
    NotificationAcknowledge {},
    #[serde(rename = "permission.list", rename_all = "camelCase")]
    PermissionList {
        workspace_id: String,
        #[serde(default)]
        include_revoked: bool,
    },
    #[serde(rename = "permission.revoke", rename_all = "camelCase")]
    PermissionRevoke { grant_id: String },
    #[serde(rename = "permission.revoke_all", rename_all = "camelCase")]
    PermissionRevokeAll { workspace_id: String },
    #[serde(rename = "ask.response", rename_all = "camelCase")]
    AskResponse {
        tool_call_id: String,
        request_id: Option<String>,
        response: Value,
    },
    #[serde(rename = "sandbox.respond")]
    SandboxRespond {},
    #[serde(rename = "session.control.claim")]
    ControlClaim {},
    #[serde(rename = "session.control.release")]
    ControlRelease {},
    #[serde(rename = "session.control.request_takeover")]
    ControlRequestTakeover {},
    #[serde(rename = "session.control.respond_takeover")]
    ControlRespondTakeover {},
    // The session operations (`PROTOCOL-AGENT.md` §11).
    #[serde(rename = "session.generate_title", rename_all = "camelCase")]
    SessionGenerateTitle { session_id: String },
    #[serde(rename = "session.compact", rename_all = "camelCase")]
    SessionCompact { session_id: String },
    #[serde(rename = "session.revert", rename_all = "camelCase")]
    SessionRevert {
        session_id: String,
        message_id: String,
    },
    #[serde(rename = "session.fork", rename_all = "camelCase")]
    SessionFork {
        session_id: String,
        message_id: String,
        title: Option<String>,
    },
    #[serde(rename = "session.edit_message", rename_all = "camelCase")]
    SessionEditMessage {
        session_id: String,
        message_id: String,
        content: String,
    },
    #[serde(rename = "provider.connect")]
    ProviderConnect {},
    #[serde(rename = "provider.disconnect")]
    ProviderDisconnect {},
    #[serde(other)]
    Unknown,
}

impl ClientMessage {
    /// The wire `type` of this message.
    pub fn kind(&self) -> &'static str {
        use ClientMessage as M;
        match self {
            M::Pong {} => "pong",
            M::Register { .. } => "client.register",
            M::SessionCreate { .. } => "session.create",
            M::SessionResume { .. } => "session.resume",
            M::SessionRename { .. } => "session.rename",
            M::SessionClose { .. } => "session.close",
            M::SessionReopen { .. } => "session.reopen",
            M::SessionDelete { .. } => "session.delete",
            M::SessionUpdate { .. } => "session.update",
            M::SessionUpdateModel { .. } => "session.update_model",
            M::ChatMessage(_) => "chat.message",
            M::QueueAdd(_) => "queue.add",
            M::QueueRemove { .. } => "queue.remove",
            M::SessionInterrupt { .. } => "session.interrupt",
            M::NotificationAcknowledge {} => "notification.acknowledge",
            M::PermissionList { .. } => "permission.list",
            M::PermissionRevoke { .. } => "permission.revoke",
            M::PermissionRevokeAll { .. } => "permission.revoke_all",
            M::AskResponse { .. } => "ask.response",
            M::SandboxRespond {} => "sandbox.respond",
            M::ControlClaim {} => "session.control.claim",
            M::ControlRelease {} => "session.control.release",
            M::ControlRequestTakeover {} => "session.control.request_takeover",
            M::ControlRespondTakeover {} => "session.control.respond_takeover",
            M::SessionGenerateTitle { .. } => "session.generate_title",
            M::SessionCompact { .. } => "session.compact",
            M::SessionRevert { .. } => "session.revert",
            M::SessionFork { .. } => "session.fork",
            M::SessionEditMessage { .. } => "session.edit_message",
            M::ProviderConnect {} => "provider.connect",
            M::ProviderDisconnect {} => "provider.disconnect",
            M::Unknown => "unknown",
        }
    }

    /// Whether this message changes something (or may, once implemented) and so needs a token
    /// with the `write` scope. Only these read: everything else, unknown types included, writes.
    pub fn needs_write(&self) -> bool {
        use ClientMessage as M;
        !matches!(
            self,
            M::Pong {}
                | M::Register { .. }
                | M::SessionResume { .. }
                | M::NotificationAcknowledge {}
                | M::PermissionList { .. }
                | M::ControlClaim {}
                | M::ControlRelease {}
                | M::ControlRequestTakeover {}
                | M::ControlRespondTakeover {}
        )
    }

    /// The session the message is about, if it names one.
    pub fn session_id(&self) -> Option<&str> {
        use ClientMessage as M;
        match self {
            M::SessionResume { session_id }
            | M::SessionRename { session_id, .. }
            | M::SessionClose { session_id }
            | M::SessionReopen { session_id }
            | M::SessionDelete { session_id }
            | M::SessionUpdate { session_id, .. }
            | M::SessionUpdateModel { session_id, .. }
            | M::SessionInterrupt { session_id }
            | M::SessionGenerateTitle { session_id }
            | M::SessionCompact { session_id }
            | M::SessionRevert { session_id, .. }
            | M::SessionFork { session_id, .. }
            | M::SessionEditMessage { session_id, .. } => Some(session_id),
            M::ChatMessage(f) | M::QueueAdd(f) => Some(&f.session_id),
            _ => None,
        }
    }
}

/// Why a frame could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ParseError {
    /// Not JSON (`parse_error`).
    #[error("Invalid JSON: {0}")]
    Json(String),
    /// JSON, but not an object with a string `type` (`parse_error`).
    #[error("Message must be a JSON object with a string \"type\" field")]
    NoType,
    /// A known type with fields that do not fit (`invalid_message`, with the `sessionId` the
    /// frame carried).
    #[error("Invalid {kind} message: {reason}")]
    Fields {
        kind: String,
        reason: String,
        session_id: Option<String>,
    },
}

/// Read one text frame.
pub fn parse(text: &str) -> Result<ClientMessage, ParseError> {
    match serde_json::from_str::<ClientMessage>(text) {
        Ok(m) => Ok(m),
        Err(e) => Err(classify(text, e)),
    }
}

/// Tell apart why a frame did not decode (the slow path: only for bad frames).
fn classify(text: &str, e: serde_json::Error) -> ParseError {
    let body: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(syntax) => return ParseError::Json(syntax.to_string()),
    };
    let Some(kind) = body.get("type").and_then(Value::as_str) else {
        return ParseError::NoType;
    };
    ParseError::Fields {
        kind: kind.to_owned(),
        reason: e.to_string(),
        session_id: body
            .get("sessionId")
            .and_then(Value::as_str)
            .map(str::to_owned),
    }
}

/// Check a ClientDescriptor as upstream does; `Err` carries the message for `client.rejected`.
pub fn validate_descriptor(client: &Value) -> Result<(), String> {
    let str_field = |name: &str| client.get(name).and_then(Value::as_str);
    match str_field("clientId") {
        Some(s) if !s.trim().is_empty() => {}
        _ => return Err("clientId must be a non-empty string".into()),
    }
    match str_field("clientType") {
        Some("web" | "desktop" | "extension" | "sdk" | "mobile") => {}
        _ => return Err("clientType must be one of web, desktop, extension, sdk, mobile".into()),
    }
    match str_field("displayName") {
        Some(s) if !s.trim().is_empty() => {}
        _ => return Err("displayName must be a non-empty string".into()),
    }
    match str_field("interactionMode") {
        Some("human" | "headless" | "hybrid") => {}
        _ => return Err("interactionMode must be one of human, headless, hybrid".into()),
    }
    match client.get("capabilities").and_then(Value::as_array) {
        Some(caps) if caps.iter().all(Value::is_string) => Ok(()),
        _ => Err("capabilities must be an array of strings".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parse_distinguishes_bad_json_missing_type_unknown_type_and_bad_fields() {
        assert!(matches!(parse("{"), Err(ParseError::Json(_))));
        assert_eq!(parse("[1]").unwrap_err(), ParseError::NoType);
        assert_eq!(parse(r#"{"type":3}"#).unwrap_err(), ParseError::NoType);
        assert!(matches!(
            parse(r#"{"type":"pong"}"#),
            Ok(ClientMessage::Pong {})
        ));
        assert!(matches!(
            parse(r#"{"type":"warp"}"#),
            Ok(ClientMessage::Unknown)
        ));
        let Err(ParseError::Fields {
            kind, session_id, ..
        }) = parse(r#"{"type":"session.rename","sessionId":"s"}"#)
        else {
            panic!("a missing title is a field error")
        };
        assert_eq!(
            (kind.as_str(), session_id.as_deref()),
            ("session.rename", Some("s"))
        );
    }

    #[test]
    fn aliases_and_extra_fields_are_accepted() {
        let m = parse(r#"{"type":"queue.add","sessionId":"s","content":"c","attachments":[]}"#);
        assert!(matches!(m, Ok(ClientMessage::QueueAdd(_))));
        let m = parse(r#"{"type":"notification.acknowledge","eventId":"x","sessionId":"s"}"#);
        assert!(matches!(m, Ok(ClientMessage::NotificationAcknowledge {})));
        let m = parse(r#"{"type":"session.fork","sessionId":"s","messageId":"m"}"#).unwrap();
        assert_eq!((m.kind(), m.session_id()), ("session.fork", Some("s")));
        assert!(m.needs_write());
        let Err(ParseError::Fields { session_id, .. }) =
            parse(r#"{"type":"session.revert","sessionId":"s"}"#)
        else {
            panic!("a revert without messageId is a field error")
        };
        assert_eq!(
            session_id.as_deref(),
            Some("s"),
            "the error names the session"
        );
    }

    #[test]
    fn reading_messages_need_no_write_scope() {
        for text in [
            r#"{"type":"pong"}"#,
            r#"{"type":"session.resume","sessionId":"s"}"#,
            r#"{"type":"permission.list","workspaceId":"w"}"#,
            r#"{"type":"session.control.claim","sessionId":"s"}"#,
        ] {
            assert!(!parse(text).unwrap().needs_write(), "{text}");
        }
        let m = parse(r#"{"type":"session.create"}"#).unwrap();
        assert!(m.needs_write());
    }

    #[test]
    fn descriptor_checks_follow_upstream() {
        let good = json!({"clientId":"c","clientType":"web","displayName":"W","interactionMode":"human","capabilities":[]});
        assert!(validate_descriptor(&good).is_ok());
        for (label, field, value) in [
            ("empty id", "clientId", json!("")),
            ("bad type", "clientType", json!("toaster")),
            ("bad mode", "interactionMode", json!("robot")),
            ("caps not strings", "capabilities", json!([1])),
        ] {
            let mut d = good.clone();
            d[field] = value;
            assert!(validate_descriptor(&d).is_err(), "{label}");
        }
    }
}
