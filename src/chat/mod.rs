//! The agent side of a session: which preconfig (system prompt, tools, model) a session runs
//! with ([`preconfigs`]), and the chat turn: pre-checks and context ([`plan`]), admission and
//! the per-session queue ([`runs`], [`worker`]), the turn itself in protocol order ([`turn`]),
//! its provider stream ([`stream`]), the streamed parts and their throttled persistence
//! ([`reply`]), titles ([`title`]) and crash recovery at start ([`recover`]).

pub mod plan;
pub mod preconfigs;
pub mod recover;
pub mod reply;
pub mod runs;
pub mod stream;
pub mod title;
pub mod turn;
pub mod worker;

pub use runs::Runs;
pub use worker::submit;
