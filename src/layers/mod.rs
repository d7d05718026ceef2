//! HTTP layers around the router: [`front`] (one pass doing the request id, span and log
//! line, the Host/Origin guard with CORS, authentication, the timeout and security headers),
//! built from the Host/Origin policy ([`origin`]) and the request log with secrets scrubbed
//! ([`trace`]); and the process's non-blocking log writer ([`logging`]).

pub mod front;
pub mod line;
pub mod logging;
pub mod origin;
pub mod security;
pub mod trace;
