//! How a provider call can fail, classified the way the chat turn reports it
//! (`error`, `error.rate_limit`, `error.server`, `error.timeout`).

use std::time::Duration;

/// The class of a provider failure; decides retrying and the event the client sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LlmErrorKind {
    /// 401/403: the key is wrong or lacks access. Never retried.
    Auth,
    /// 429. Retried.
    RateLimit,
    /// 5xx. Retried.
    Server,
    /// No connection, no headers or no chunk within the configured time.
    Timeout,
    /// The stream was not chat-completions SSE (bad JSON, an error object mid-stream).
    Malformed,
    /// The connection broke (refused, reset, closed before the reply was complete).
    Network,
    /// Any other refusal (400, 404, …): the request itself is wrong.
    Request,
}

impl LlmErrorKind {
    /// Whether a retry may help (only before any chunk arrived).
    pub fn retryable(self) -> bool {
        matches!(self, LlmErrorKind::RateLimit | LlmErrorKind::Server)
    }

    /// The `errorType` of `chat.retry` and the `code` of the error event.
    pub fn code(self) -> &'static str {
        match self {
            LlmErrorKind::Auth => "auth_error",
            LlmErrorKind::RateLimit => "rate_limit",
            LlmErrorKind::Server => "server_error",
            LlmErrorKind::Timeout => "timeout",
            LlmErrorKind::Malformed => "invalid_response",
            LlmErrorKind::Network => "network_error",
            LlmErrorKind::Request => "provider_error",
        }
    }
}

/// A provider failure with a message fit for a person (never contains the API key).
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct LlmError {
    pub kind: LlmErrorKind,
    pub message: String,
    /// HTTP status, when the provider answered.
    pub status: Option<u16>,
    /// From `Retry-After` / `retry-after-ms` on a 429 or 503.
    pub retry_after: Option<Duration>,
}

impl LlmError {
    pub fn new(kind: LlmErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            status: None,
            retry_after: None,
        }
    }

    /// Classify a non-success HTTP answer. `body` is the (possibly empty) response text.
    pub fn from_status(status: u16, body: &str, retry_after: Option<Duration>) -> Self {
        let kind = match status {
            401 | 403 => LlmErrorKind::Auth,
            429 => LlmErrorKind::RateLimit,
            500..=599 => LlmErrorKind::Server,
            408 => LlmErrorKind::Timeout,
            _ => LlmErrorKind::Request,
        };
        let detail = provider_message(body);
        let lead = match kind {
            LlmErrorKind::Auth => "The provider rejected the API key",
            LlmErrorKind::RateLimit => "The provider is rate limiting requests",
            LlmErrorKind::Server => "The provider had a server error",
            LlmErrorKind::Timeout => "The provider timed out",
            _ => "The provider refused the request",
        };
        let message = match detail {
            Some(d) => format!("{lead} (HTTP {status}): {d}"),
            None => format!("{lead} (HTTP {status})"),
        };
        Self {
            kind,
            message,
            status: Some(status),
            retry_after,
        }
    }

    /// `retryAfterMs` for `error.rate_limit`.
    pub fn retry_after_ms(&self) -> Option<u64> {
        self.retry_after
            .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }
}

/// The `error.message` of an OpenAI-style error body, or a short plain body.
fn provider_message(body: &str) -> Option<String> {
    let body = body.trim();
    if body.is_empty() {
        return None;
    }
    if let Ok(v) = serde_json::from_str::<serde_json::Value>(body) {
        let m = v
            .pointer("/error/message")
            .or_else(|| v.get("message"))
            .or_else(|| v.get("error"))
            .and_then(|m| m.as_str());
        if let Some(m) = m {
            return Some(m.to_owned());
        }
    }
    Some(body.chars().take(300).collect())
}

/// `Retry-After` (seconds, possibly fractional) or `retry-after-ms`, capped at 10 minutes.
pub fn parse_retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let get = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let d = if let Some(ms) = get("retry-after-ms").and_then(|v| v.trim().parse::<f64>().ok()) {
        Duration::from_secs_f64(ms.max(0.0) / 1000.0)
    } else {
        let secs = get("retry-after")?.trim().parse::<f64>().ok()?;
        Duration::from_secs_f64(secs.max(0.0))
    };
    Some(d.min(Duration::from_secs(600)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_are_classified() {
        let cases = [
            (401, LlmErrorKind::Auth),
            (403, LlmErrorKind::Auth),
            (429, LlmErrorKind::RateLimit),
            (500, LlmErrorKind::Server),
            (503, LlmErrorKind::Server),
            (400, LlmErrorKind::Request),
            (404, LlmErrorKind::Request),
        ];
        for (status, kind) in cases {
            assert_eq!(
                LlmError::from_status(status, "", None).kind,
                kind,
                "HTTP {status}"
            );
        }
    }

    #[test]
    fn the_provider_message_is_kept() {
        let e = LlmError::from_status(401, r#"{"error":{"message":"Incorrect API key"}}"#, None);
        assert_eq!(
            e.message,
            "The provider rejected the API key (HTTP 401): Incorrect API key"
        );
    }

    #[test]
    fn retry_after_accepts_seconds_and_milliseconds() {
        let mut h = reqwest::header::HeaderMap::new();
        h.insert("retry-after", "2".parse().unwrap());
        assert_eq!(parse_retry_after(&h), Some(Duration::from_secs(2)));
        h.insert("retry-after-ms", "150".parse().unwrap());
        assert_eq!(parse_retry_after(&h), Some(Duration::from_millis(150)));
        h.clear();
        h.insert(
            "retry-after",
            "Wed, 21 Oct 2015 07:28:00 GMT".parse().unwrap(),
        );
        assert_eq!(parse_retry_after(&h), None);
    }
}
