//! Server → client WebSocket messages (`PROTOCOL.md` §4). Each serializes to one JSON object
//! with a `type` field.

use serde::Serialize;
use serde_json::Value;

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type")]
pub enum ServerEvent {
    #[serde(rename = "ping")]
    Ping,
    #[serde(rename = "client.registered", rename_all = "camelCase")]
    ClientRegistered {
        client: Value,
        connection_id: String,
        server_time: i64,
    },
    #[serde(rename = "client.rejected")]
    ClientRejected { code: String, message: String },
    /// `{"type":"error","code":…,"message":…,"sessionId"?:…}`; every one becomes a client toast.
    #[serde(rename = "error", rename_all = "camelCase")]
    Error {
        code: String,
        message: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        session_id: Option<String>,
    },
}

impl ServerEvent {
    pub fn error(code: &str, message: impl Into<String>) -> Self {
        ServerEvent::Error {
            code: code.to_owned(),
            message: message.into(),
            session_id: None,
        }
    }

    pub fn session_error(code: &str, message: impl Into<String>, session_id: &str) -> Self {
        ServerEvent::Error {
            code: code.to_owned(),
            message: message.into(),
            session_id: Some(session_id.to_owned()),
        }
    }

    /// The JSON text frame.
    pub fn to_frame(&self) -> std::sync::Arc<str> {
        match serde_json::to_string(self) {
            Ok(s) => s.into(),
            Err(e) => {
                tracing::error!(error = %e, "cannot serialize a server event");
                r#"{"type":"error","code":"internal","message":"internal error"}"#.into()
            }
        }
    }
}
