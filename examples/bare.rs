//! The "bare axum" reference point for `scripts/bench-http.sh`: the same route and JSON body as
//! jean2's `GET /api/auth/verify`, on the same runtime (tokio multi-thread) and the same axum,
//! with no layers at all (no auth, no logging, no request id, no CORS/Host guard, no timeouts).
//! Whatever jean2 costs on top of this is the price of its layers.
//!
//! `bare [ADDR] [LAYERS]` (ADDR default `127.0.0.1:0`); prints `listening on http://ADDR` once
//! it accepts connections. LAYERS (comma-separated, for attributing jean2's cost one piece at a
//! time; empty for the baseline) adds pieces of jean2's stack, innermost first:
//! `state` (jean2's real `AppState` as router state: axum clones it for every request),
//! `fromfn` (three no-op `from_fn` middlewares, as many as jean2 stacks), `timeout`
//! (`TimeoutLayer`), `reqid` (`SetRequestId` with UUID v4 + `PropagateRequestId`), `log`
//! (jean2's own request-log middleware with an `info` subscriber writing to stdout).

use std::time::Duration;

use axum::Router;
use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::{Next, from_fn};
use axum::response::Response;
use axum::routing::get;
use serde_json::{Value, json};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:0".to_owned());
    let layers = args.next().unwrap_or_default();
    let has = |name: &str| layers.split(',').any(|l| l == name);
    let known = [
        "state", "fromfn", "timeout", "reqid", "log", "route", "connect", "nodelay", "",
    ];
    if let Some(bad) = layers.split(',').find(|l| !known.contains(l)) {
        anyhow::bail!("unknown layer {bad:?}; known: {known:?}");
    }

    let mut app = if has("state") {
        let dir = std::env::temp_dir().join(format!("jean2-bare-{}", std::process::id()));
        let settings = jean2::config::Settings::for_data_dir(dir);
        let store = jean2::store::Store::open(&settings.database_path).await?;
        let auth = jean2::auth::Auth::new(&settings, None);
        let state = jean2::app::AppState::new(
            settings,
            store,
            auth,
            tokio_util::sync::CancellationToken::new(),
        )?;
        Router::new()
            .route("/api/auth/verify", get(verify))
            .with_state(state)
    } else {
        Router::new().route("/api/auth/verify", get(verify))
    };
    if has("route") {
        // One more per-route layer (as `Router::layer` adds for every layer): a boxed service.
        app = app.layer(tower::layer::util::Identity::new());
    }
    if has("fromfn") {
        app = app
            .layer(from_fn(noop))
            .layer(from_fn(noop))
            .layer(from_fn(noop));
    }
    if has("timeout") {
        app = app.layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(30),
        ));
    }
    if has("log") {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new("info"))
            .with_ansi(false)
            .with_target(false)
            .init();
        app = app.layer(from_fn(jean2::layers::trace::log_request));
    }
    if has("reqid") {
        app = app
            .layer(PropagateRequestIdLayer::x_request_id())
            .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid));
    }

    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("listening on http://{}", listener.local_addr()?);
    if has("nodelay") {
        use axum::serve::ListenerExt as _;
        let listener = listener.tap_io(|tcp| {
            let _ = tcp.set_nodelay(true);
        });
        axum::serve(listener, app).await?;
    } else if has("connect") {
        let make = app.into_make_service_with_connect_info::<std::net::SocketAddr>();
        axum::serve(listener, make).await?;
    } else {
        axum::serve(listener, app).await?;
    }
    Ok(())
}

async fn verify() -> axum::Json<Value> {
    axum::Json(json!({"valid": true, "timestamp": jean2::time::now_iso()}))
}

async fn noop(req: Request, next: Next) -> Response {
    next.run(req).await
}
