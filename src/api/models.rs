//! `GET /api/models`: the model registry with each model's runtime status (`PROTOCOL.md` §3 A4).

use crate::routes::Routes;
use axum::extract::State;
use axum::routing::get;
use serde_json::Value;

use crate::app::AppState;
use crate::error::ApiJson;
use crate::llm::registry::Registry;

pub fn router() -> Routes {
    Routes::new().route("/api/models", get(list))
}

async fn list(State(app): State<AppState>) -> ApiJson<Value> {
    let registry = Registry::load(&app.settings.data_dir).await;
    ApiJson(registry.models_response(&app.chat.llm_settings()))
}
