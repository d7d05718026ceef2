//! The WebSocket endpoint: upgrade auth, register, parse errors, heartbeat, limits.
