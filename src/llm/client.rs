//! The streaming client for OpenAI-compatible chat-completions APIs (`stream: true` over SSE).
//!
//! [`LlmClient::stream`] sends the request, retrying 429/5xx answers with backoff (each retry is
//! announced through a callback so the turn can emit `chat.retry`), and returns a [`ChatStream`]
//! that yields [`Delta`]s with an idle timeout between chunks. Once a chunk has arrived nothing
//! is retried: the caller keeps what it received.

use std::collections::VecDeque;
use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;
use futures_util::stream::BoxStream;

use super::chunk::{DONE, Delta, parse_chunk};
use super::error::{LlmError, LlmErrorKind, parse_retry_after};
use super::message::ChatRequest;
use super::sse::SseDecoder;
use super::wire::WireRequest;
use crate::config::LlmSettings;

/// A retry being announced (`chat.retry`).
#[derive(Debug, Clone)]
pub struct RetryNotice {
    pub phase: RetryPhase,
    /// 1-based.
    pub retry_number: u32,
    pub max_retries: u32,
    pub error: LlmError,
    /// The wait before the retry (for `Scheduled`).
    pub delay: Duration,
}

/// `chat.retry` `status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryPhase {
    Scheduled,
    Started,
    Exhausted,
}

impl RetryPhase {
    pub fn as_str(self) -> &'static str {
        match self {
            RetryPhase::Scheduled => "scheduled",
            RetryPhase::Started => "started",
            RetryPhase::Exhausted => "exhausted",
        }
    }
}

/// A reqwest client plus the timeouts and retry policy; cheap to clone.
#[derive(Clone, Debug)]
pub struct LlmClient {
    http: reqwest::Client,
    idle_timeout: Duration,
    max_retries: u32,
    retry_base_delay: Duration,
}

impl LlmClient {
    pub fn new(cfg: &LlmSettings) -> Result<Self, LlmError> {
        let http = reqwest::Client::builder()
            .connect_timeout(cfg.connect_timeout)
            .user_agent(concat!("jean2/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| LlmError::new(LlmErrorKind::Request, format!("HTTP client: {e}")))?;
        Ok(Self {
            http,
            idle_timeout: cfg.idle_timeout,
            max_retries: cfg.max_retries,
            retry_base_delay: cfg.retry_base_delay,
        })
    }

    /// Like [`LlmClient::new`]; if the TLS stack cannot be set up (it always can with the
    /// bundled ring provider) the failure is logged and reqwest's defaults are used.
    pub fn from_settings(cfg: &LlmSettings) -> Self {
        Self::new(cfg).unwrap_or_else(|e| {
            tracing::error!(error = %e, "cannot configure the LLM HTTP client; using defaults");
            Self {
                http: reqwest::Client::default(),
                idle_timeout: cfg.idle_timeout,
                max_retries: cfg.max_retries,
                retry_base_delay: cfg.retry_base_delay,
            }
        })
    }

    /// Start a streaming completion. `on_retry` hears every retry decision.
    pub async fn stream(
        &self,
        req: &ChatRequest,
        mut on_retry: impl FnMut(RetryNotice),
    ) -> Result<ChatStream, LlmError> {
        let mut attempt = 0u32;
        loop {
            match self.send_once(req).await {
                Ok(stream) => return Ok(stream),
                Err(e) if e.retryable() && attempt < self.max_retries => {
                    attempt += 1;
                    let delay = e.retry_after.unwrap_or_else(|| self.backoff(attempt));
                    tracing::warn!(
                        retry = attempt,
                        delay_ms = delay.as_millis() as u64,
                        error = %e,
                        "LLM request failed; retrying"
                    );
                    let notice = |phase| RetryNotice {
                        phase,
                        retry_number: attempt,
                        max_retries: self.max_retries,
                        error: e.clone(),
                        delay,
                    };
                    on_retry(notice(RetryPhase::Scheduled));
                    tokio::time::sleep(delay).await;
                    on_retry(notice(RetryPhase::Started));
                }
                Err(e) => {
                    if e.retryable() && self.max_retries > 0 {
                        on_retry(RetryNotice {
                            phase: RetryPhase::Exhausted,
                            retry_number: attempt,
                            max_retries: self.max_retries,
                            error: e.clone(),
                            delay: Duration::ZERO,
                        });
                    }
                    return Err(e);
                }
            }
        }
    }

    /// One attempt, no retries (for best-effort calls such as title generation).
    pub async fn stream_once(&self, req: &ChatRequest) -> Result<ChatStream, LlmError> {
        self.send_once(req).await
    }

    /// 1 s, 2 s, 4 s, … capped at 30 s (scaled by the configured base).
    fn backoff(&self, attempt: u32) -> Duration {
        let factor = 1u32 << (attempt - 1).min(5);
        (self.retry_base_delay * factor).min(Duration::from_secs(30))
    }

    async fn send_once(&self, req: &ChatRequest) -> Result<ChatStream, LlmError> {
        let url = format!("{}/chat/completions", req.base_url.trim_end_matches('/'));
        let body = WireRequest::new(req);
        let mut builder = self
            .http
            .post(&url)
            .header("accept", "text/event-stream")
            .json(&body);
        if let Some(key) = &req.api_key {
            builder = builder.bearer_auth(key.expose());
        }
        let resp = tokio::time::timeout(self.idle_timeout, builder.send())
            .await
            .map_err(|_| timeout_error(self.idle_timeout, "for the response"))?
            .map_err(|e| transport_error(&e))?;
        let status = resp.status();
        if !status.is_success() {
            let retry_after = parse_retry_after(resp.headers());
            let text = tokio::time::timeout(self.idle_timeout, resp.text())
                .await
                .ok()
                .and_then(Result::ok)
                .unwrap_or_default();
            return Err(LlmError::from_status(status.as_u16(), &text, retry_after));
        }
        Ok(ChatStream {
            body: resp.bytes_stream().boxed(),
            decoder: SseDecoder::new(),
            pending: VecDeque::new(),
            idle_timeout: self.idle_timeout,
            state: State::Open,
        })
    }
}

fn timeout_error(after: Duration, what: &str) -> LlmError {
    LlmError::new(
        LlmErrorKind::Timeout,
        format!(
            "The provider sent nothing {what} for {} s",
            after.as_secs_f32()
        ),
    )
}

fn transport_error(e: &reqwest::Error) -> LlmError {
    if e.is_timeout() {
        return LlmError::new(
            LlmErrorKind::Timeout,
            "Connecting to the provider timed out",
        );
    }
    // Keep the chain short and free of the URL's query (no secrets are in URLs we build).
    let mut msg = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        src = s.source();
    }
    let kind = if e.is_connect() || e.is_request() || e.is_body() || e.is_decode() {
        LlmErrorKind::Network
    } else {
        LlmErrorKind::Request
    };
    LlmError::new(kind, format!("Cannot reach the provider: {msg}"))
}

#[derive(Debug, PartialEq, Eq)]
enum State {
    Open,
    /// `[DONE]` or a finish reason seen: the reply is complete.
    Finished,
    Closed,
}

/// The deltas of one reply.
pub struct ChatStream {
    body: BoxStream<'static, reqwest::Result<Bytes>>,
    decoder: SseDecoder,
    pending: VecDeque<Delta>,
    idle_timeout: Duration,
    state: State,
}

impl ChatStream {
    /// A stream over in-memory SSE bytes (tests of code that consumes a stream).
    #[cfg(test)]
    pub fn from_sse(pieces: Vec<&'static str>) -> Self {
        let items: Vec<reqwest::Result<Bytes>> =
            pieces.into_iter().map(|p| Ok(Bytes::from(p))).collect();
        ChatStream {
            body: futures_util::stream::iter(items).boxed(),
            decoder: SseDecoder::new(),
            pending: VecDeque::new(),
            idle_timeout: Duration::from_secs(5),
            state: State::Open,
        }
    }

    /// The next delta; `Ok(None)` once the reply is complete.
    pub async fn next(&mut self) -> Result<Option<Delta>, LlmError> {
        loop {
            if let Some(d) = self.pending.pop_front() {
                return Ok(Some(d));
            }
            if self.state == State::Closed {
                return Ok(None);
            }
            let item = tokio::time::timeout(self.idle_timeout, self.body.next())
                .await
                .map_err(|_| timeout_error(self.idle_timeout, "between chunks"))?;
            match item {
                Some(Ok(bytes)) => {
                    let events = self.decoder.feed(&bytes).map_err(|e| {
                        self.state = State::Closed;
                        LlmError::new(LlmErrorKind::Malformed, e.to_string())
                    })?;
                    for data in events {
                        self.take_event(&data)?;
                    }
                }
                Some(Err(e)) if self.state == State::Finished => {
                    tracing::debug!(error = %e, "provider stream broke after the reply was complete");
                    self.state = State::Closed;
                }
                Some(Err(e)) => {
                    self.state = State::Closed;
                    let mut err = transport_error(&e);
                    err.message = format!(
                        "The provider connection broke before the reply was complete: {}",
                        err.message
                            .trim_start_matches("Cannot reach the provider: ")
                    );
                    return Err(err);
                }
                None => {
                    if let Some(data) = self.decoder.finish() {
                        self.take_event(&data)?;
                    }
                    let finished = self.state == State::Finished;
                    self.state = State::Closed;
                    if !finished {
                        return Err(LlmError::new(
                            LlmErrorKind::Network,
                            "The provider closed the stream before the reply was complete",
                        ));
                    }
                }
            }
        }
    }

    fn take_event(&mut self, data: &str) -> Result<(), LlmError> {
        if self.state == State::Closed {
            return Ok(());
        }
        if data.trim() == DONE {
            self.state = State::Closed;
            return Ok(());
        }
        if data.trim().is_empty() {
            return Ok(());
        }
        for d in parse_chunk(data)? {
            if matches!(d, Delta::Finish(_)) {
                self.state = State::Finished;
            }
            self.pending.push_back(d);
        }
        Ok(())
    }
}
