//! How a provider call can fail, classified the way the chat turn reports it
//! (`error`, `error.rate_limit`, `error.server`, `error.timeout`), and what a provider's
//! `Retry-After` means to us: no value it sends can panic, and a wait longer than
//! [`MAX_RETRY_WAIT`] ends the turn at once instead of being slept through.

use std::time::Duration;

/// The longest wait before a retry that jean2 is willing to make. A provider asking for more
/// (`Retry-After: 3600`) ends the turn at once with `error.rate_limit` saying when to retry.
pub const MAX_RETRY_WAIT: Duration = Duration::from_secs(60);
/// Largest `Retry-After` we report: bigger values (`1e20`, `inf`) are cut to a day.
const MAX_REPORTED_WAIT: Duration = Duration::from_secs(86_400);

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
    /// A 400 or 413 saying the conversation does not fit the model's context window. Never
    /// retried as is: the chat turn compacts the session and replays once instead.
    ContextOverflow,
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
            LlmErrorKind::ContextOverflow => "context_overflow",
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
            400 | 413 if is_context_overflow(body) => LlmErrorKind::ContextOverflow,
            _ => LlmErrorKind::Request,
        };
        let detail = provider_message(body);
        let lead = match kind {
            LlmErrorKind::Auth => "The provider rejected the API key",
            LlmErrorKind::RateLimit => "The provider is rate limiting requests",
            LlmErrorKind::Server => "The provider had a server error",
            LlmErrorKind::Timeout => "The provider timed out",
            LlmErrorKind::ContextOverflow => "The conversation is too long for the model",
            _ => "The provider refused the request",
        };
        let mut message = match detail {
            Some(d) => format!("{lead} (HTTP {status}): {d}"),
            None => format!("{lead} (HTTP {status})"),
        };
        if let Some(wait) = retry_after.filter(|d| *d > MAX_RETRY_WAIT) {
            message.push_str(&format!(
                " — it asks to wait {} s before trying again; send the message again after that",
                wait.as_secs()
            ));
        }
        Self {
            kind,
            message,
            status: Some(status),
            retry_after,
        }
    }

    /// Whether a retry may help and jean2 is willing to wait as long as the provider asks.
    pub fn retryable(&self) -> bool {
        self.kind.retryable() && self.retry_after.is_none_or(|d| d <= MAX_RETRY_WAIT)
    }

    /// `retryAfterMs` for `error.rate_limit`.
    pub fn retry_after_ms(&self) -> Option<u64> {
        self.retry_after
            .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }
}

/// What providers say when a request does not fit the context window (OpenAI, Anthropic,
/// Gemini, DeepSeek, Zhipu, MiniMax, OpenRouter and proxies), lower case: the phrases the
/// original server recognises, matched as plain text.
const OVERFLOW_PHRASES: &[&str] = &[
    "context window exceeds limit",
    "prompt is too long",
    "exceeds the context window",
    "maximum context length is",
    "exceeded model token limit",
    "context_length_exceeded",
    "context length exceeded",
    "request entity too large",
];

/// Whether an error body (of a 400 or 413) reports a context overflow.
fn is_context_overflow(body: &str) -> bool {
    let b = body.to_lowercase();
    let after = |a: &str, b_: &str| b.find(a).is_some_and(|i| b[i..].contains(b_));
    OVERFLOW_PHRASES.iter().any(|p| b.contains(p))
        || after("input token count", "exceeds the maximum")
        || after("exceeds the limit of", "token")
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

/// `Retry-After` (seconds, possibly fractional) or `retry-after-ms`. Negative values are 0,
/// anything above a day (`1e20`, `inf`) is a day, and what is not a number (`nan`, an
/// HTTP-date) is ignored: no header value can make this panic.
pub fn parse_retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let get = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let number = |v: &str| v.trim().parse::<f64>().ok().filter(|n| !n.is_nan());
    match get("retry-after-ms").and_then(number) {
        Some(ms) => seconds(ms / 1000.0),
        None => seconds(number(get("retry-after")?)?),
    }
}

/// A wait in seconds, clamped to `0 ..= MAX_REPORTED_WAIT`.
fn seconds(secs: f64) -> Option<Duration> {
    let clamped = secs.clamp(0.0, MAX_REPORTED_WAIT.as_secs_f64());
    Duration::try_from_secs_f64(clamped).ok()
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
    fn a_context_overflow_is_recognised_by_the_providers_words() {
        let overflows = [
            (
                400,
                r#"{"error":{"message":"This model's maximum context length is 8192 tokens. However, your messages resulted in 9000 tokens.","code":"context_length_exceeded"}}"#,
            ),
            (
                400,
                r#"{"error":{"message":"prompt is too long: 210000 tokens > 200000 maximum"}}"#,
            ),
            (
                400,
                "The input token count (1200000) exceeds the maximum number of tokens allowed (1048576).",
            ),
            (413, "Request Entity Too Large"),
        ];
        for (status, body) in overflows {
            let e = LlmError::from_status(status, body, None);
            assert_eq!(e.kind, LlmErrorKind::ContextOverflow, "{body}");
            assert!(!e.retryable());
        }
        let others = [
            (400, "Invalid value for 'temperature'"),
            (500, "prompt is too long"),
        ];
        for (status, body) in others {
            let e = LlmError::from_status(status, body, None);
            assert_ne!(e.kind, LlmErrorKind::ContextOverflow, "{status} {body}");
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

    #[test]
    fn no_retry_after_value_panics_and_huge_ones_are_cut_to_a_day() {
        let day = Some(MAX_REPORTED_WAIT);
        let cases = [
            ("1e20", day),
            ("inf", day),
            ("-inf", Some(Duration::ZERO)),
            ("infinity", day),
            ("nan", None),
            ("NaN", None),
            ("-5", Some(Duration::ZERO)),
            ("1e-400", Some(Duration::ZERO)),
            ("18446744073709551616", day),
            ("0.5", Some(Duration::from_millis(500))),
        ];
        for (value, want) in cases {
            for name in ["retry-after", "retry-after-ms"] {
                let mut h = reqwest::header::HeaderMap::new();
                h.insert(name, value.parse().unwrap());
                let got = parse_retry_after(&h);
                if name == "retry-after" {
                    assert_eq!(got, want, "{name}: {value}");
                } else {
                    assert!(
                        got.is_none_or(|d| d <= MAX_REPORTED_WAIT),
                        "{name}: {value}"
                    );
                }
            }
        }
    }

    #[test]
    fn a_wait_longer_than_a_minute_is_not_retried_and_says_when_to_retry() {
        let long = LlmError::from_status(429, "", Some(Duration::from_secs(120)));
        assert!(!long.retryable());
        assert!(long.message.contains("120 s"), "{}", long.message);
        assert_eq!(long.retry_after_ms(), Some(120_000));
        let short = LlmError::from_status(429, "", Some(MAX_RETRY_WAIT));
        assert!(short.retryable());
        assert!(LlmError::from_status(503, "", None).retryable());
        assert!(!LlmError::from_status(401, "", None).retryable());
    }
}
