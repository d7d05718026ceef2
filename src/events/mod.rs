//! Server → client events ([`event`]), the hub that decides who hears which ([`hub`]), and
//! the relay that carries them to the other instances on one PostgreSQL database ([`relay`]).
//! Used by the WebSocket connections and by the chat turn alike; knows nothing of HTTP.

pub mod event;
pub mod hub;
pub mod relay;

pub use event::ServerEvent;
pub use hub::{Audience, ConnId, Hub};
