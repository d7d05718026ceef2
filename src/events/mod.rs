//! Server → client events ([`event`]) and the hub that decides who hears which ([`hub`]): each
//! connection's queue and close request ([`link`]), and the credential it was opened with
//! ([`credential`]), which revocation matches on; and the relay that carries events to the
//! other instances on one PostgreSQL database ([`relay`]). Used by the WebSocket connections
//! and by the chat turn alike; knows nothing of HTTP.

pub mod credential;
pub mod event;
pub mod hub;
pub mod link;
pub mod relay;

pub use credential::{Credential, Revoked};
pub use event::ServerEvent;
pub use hub::{Audience, ConnId, Hub};
