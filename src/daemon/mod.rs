//! The daemon: an OS-locked pidfile ([`pidfile`]), `start` re-executing this binary as
//! `jean2 server` detached with output to `server.log` ([`spawn`]), and `status`/`stop`/`reload`
//! ([`control`]).
