//! Timestamps in the two forms the wire uses: Unix milliseconds (messages, parts) and ISO-8601
//! with milliseconds and `Z` (sessions, workspaces, `timestamp` fields).

use chrono::{SecondsFormat, Utc};

/// Now, in Unix milliseconds.
pub fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

/// Now, as `2026-11-22T14:36:51.991Z`.
pub fn now_iso() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true)
}
