//! Server → client events ([`event`]) and the hub that decides who hears which ([`hub`]).
//! Used by the WebSocket connections and by the chat turn alike; knows nothing of HTTP.

pub mod event;
pub mod hub;

pub use event::ServerEvent;
pub use hub::{Audience, ConnId, Hub};
