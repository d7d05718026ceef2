//! LLM providers: the OpenAI-compatible chat-completions client (streaming over SSE), its SSE
//! decoder and chunk parser, and the classification of provider failures.

pub mod chunk;
pub mod client;
pub mod error;
pub mod sse;

pub use chunk::{Delta, Usage};
pub use client::{ChatMessage, ChatRequest, ChatStream, LlmClient, RetryNotice, RetryPhase};
pub use error::{LlmError, LlmErrorKind};
