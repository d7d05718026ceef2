//! LLM providers: the registry of OpenAI-compatible providers and their models ([`registry`]),
//! which `GET /api/models` lists and the chat turn resolves a session's model with. The
//! streaming client lives next to it.

pub mod registry;
