//! HTTP layers that wrap every route: the Host/Origin guard with CORS ([`origin`]) and the
//! one-line-per-request log with secrets scrubbed ([`trace`]).

pub mod origin;
pub mod trace;
