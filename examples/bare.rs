//! The "bare axum" reference point for `scripts/bench-http.sh`: the same route and JSON body as
//! jean2's `GET /api/auth/verify`, on the same runtime (tokio multi-thread) and the same axum,
//! with no layers at all (no auth, no logging, no request id, no CORS/Host guard, no timeouts).
//! Whatever jean2 costs on top of this is the price of its layers.
//!
//! `cargo run --release --example bare -- [ADDR]` (default `127.0.0.1:0`); prints
//! `listening on http://ADDR` once it accepts connections.

use axum::Router;
use axum::routing::get;
use serde_json::{Value, json};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:0".to_owned());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("listening on http://{}", listener.local_addr()?);
    let app = Router::new().route("/api/auth/verify", get(verify));
    axum::serve(listener, app).await
}

async fn verify() -> axum::Json<Value> {
    axum::Json(json!({"valid": true, "timestamp": jean2::time::now_iso()}))
}
