//! The agent side of a session: which preconfig (system prompt, tools, model) a session runs
//! with ([`preconfigs`]). The chat turn (persist, stream from the provider, publish, finish or
//! recover) lives here too.

pub mod preconfigs;
