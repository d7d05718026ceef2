//! stub
use crate::tools::ask::Assessment;
use crate::tools::env::ToolEnv;
use crate::tools::outcome::ToolOutput;
use serde_json::Value;
pub(crate) fn assess(_: &Value, _: &ToolEnv) -> Assessment {
    Assessment::Allow
}
pub(crate) async fn run(_: &Value, _: &ToolEnv) -> ToolOutput {
    ToolOutput::fail("todo")
}
