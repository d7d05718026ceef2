//! `GET /api/preconfigs`: built-in and user preconfigs (`PROTOCOL.md` §3 A5).

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use serde_json::{Value, json};

use crate::app::AppState;
use crate::chat::preconfigs;
use crate::error::ApiJson;

pub fn router() -> Router<AppState> {
    Router::new().route("/preconfigs", get(list))
}

async fn list(State(app): State<AppState>) -> ApiJson<Value> {
    ApiJson(json!({ "preconfigs": preconfigs::load(&app.settings.data_dir).await }))
}
