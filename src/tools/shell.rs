//! stub
use super::ask::Assessment;
use super::env::ToolEnv;
use super::outcome::ToolOutput;
use serde_json::Value;
use tokio_util::sync::CancellationToken;
pub(super) fn assess(_: &Value, _: &ToolEnv) -> Assessment {
    Assessment::Allow
}
pub(super) async fn run(_: &Value, _: &ToolEnv, _: &CancellationToken) -> ToolOutput {
    ToolOutput::fail("todo")
}
