//! The small closed sets stored as text: a session's status, a message's role and an assistant
//! message's status. They serialize exactly as the strings of `PROTOCOL.md` §5 and are read from
//! the database leniently: an unknown value (a newer or foreign writer) falls back to a safe
//! default and is logged once per kind, never failing a read.

use std::sync::atomic::{AtomicBool, Ordering};

use serde::{Deserialize, Serialize};

/// Warn about an unknown stored value, once per process and kind.
fn warn_once(flag: &AtomicBool, column: &str, value: &str, fallback: &str) {
    if !flag.swap(true, Ordering::Relaxed) {
        tracing::warn!(
            column,
            value,
            fallback,
            "unknown value in the database, read as the fallback (logged once)"
        );
    }
}

/// A session's status (`active` or `closed`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SessionStatus {
    #[default]
    Active,
    Closed,
}

impl SessionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            SessionStatus::Active => "active",
            SessionStatus::Closed => "closed",
        }
    }

    /// The wire value, or `None` for anything else (for validating client input).
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "active" => Some(SessionStatus::Active),
            "closed" => Some(SessionStatus::Closed),
            _ => None,
        }
    }

    /// As stored; unknown → `active`.
    pub(crate) fn from_db(s: &str) -> Self {
        static WARNED: AtomicBool = AtomicBool::new(false);
        Self::parse(s).unwrap_or_else(|| {
            warn_once(&WARNED, "sessions.status", s, "active");
            SessionStatus::Active
        })
    }
}

/// Who wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    User,
    Assistant,
    System,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::User => "user",
            Role::Assistant => "assistant",
            Role::System => "system",
        }
    }

    /// As stored; unknown → `user`.
    pub(crate) fn from_db(s: &str) -> Self {
        static WARNED: AtomicBool = AtomicBool::new(false);
        match s {
            "user" => Role::User,
            "assistant" => Role::Assistant,
            "system" => Role::System,
            other => {
                warn_once(&WARNED, "messages.role", other, "user");
                Role::User
            }
        }
    }
}

/// Where an assistant message stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MessageStatus {
    #[default]
    Streaming,
    Completed,
    Error,
    Interrupted,
}

impl MessageStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            MessageStatus::Streaming => "streaming",
            MessageStatus::Completed => "completed",
            MessageStatus::Error => "error",
            MessageStatus::Interrupted => "interrupted",
        }
    }

    /// As stored; missing → `completed` (as before statuses were kept), unknown → `completed`.
    pub(crate) fn from_db(s: Option<&str>) -> Self {
        static WARNED: AtomicBool = AtomicBool::new(false);
        match s {
            None => MessageStatus::Completed,
            Some("streaming") => MessageStatus::Streaming,
            Some("completed") => MessageStatus::Completed,
            Some("error") => MessageStatus::Error,
            Some("interrupted") => MessageStatus::Interrupted,
            Some(other) => {
                warn_once(&WARNED, "messages.status", other, "completed");
                MessageStatus::Completed
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_serialize_as_the_protocol_strings() {
        for s in [SessionStatus::Active, SessionStatus::Closed] {
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
            assert_eq!(SessionStatus::from_db(s.as_str()), s);
        }
        for r in [Role::User, Role::Assistant, Role::System] {
            assert_eq!(serde_json::to_value(r).unwrap(), r.as_str());
            assert_eq!(Role::from_db(r.as_str()), r);
        }
        for m in [
            MessageStatus::Streaming,
            MessageStatus::Completed,
            MessageStatus::Error,
            MessageStatus::Interrupted,
        ] {
            assert_eq!(serde_json::to_value(m).unwrap(), m.as_str());
            assert_eq!(MessageStatus::from_db(Some(m.as_str())), m);
        }
    }

    #[test]
    fn unknown_stored_values_fall_back_instead_of_failing() {
        assert_eq!(Role::from_db("tool"), Role::User);
        assert_eq!(SessionStatus::from_db("archived"), SessionStatus::Active);
        assert_eq!(
            MessageStatus::from_db(Some("paused")),
            MessageStatus::Completed
        );
        assert_eq!(MessageStatus::from_db(None), MessageStatus::Completed);
    }
}
