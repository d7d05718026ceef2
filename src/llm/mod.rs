//! LLM providers: the registry of OpenAI-compatible providers and their models ([`registry`]),
//! which `GET /api/models` lists and the chat turn resolves a session's model with; the
//! streaming chat-completions client ([`client`]) with its SSE decoder ([`sse`]), chunk parser
//! ([`chunk`]), the request body with its per-model adjustments ([`wire`]) and the
//! classification of provider failures ([`error`]).

pub mod chunk;
pub mod client;
pub mod error;
pub mod message;
pub mod registry;
pub mod sse;
mod wire;

pub use chunk::{Delta, ToolCallDelta, Usage};
pub use client::{ChatStream, LlmClient, RetryNotice, RetryPhase};
pub use error::{LlmError, LlmErrorKind};
pub use message::{ChatMessage, ChatRequest, ToolCall};
