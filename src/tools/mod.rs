//! The agent's built-in tools (§8.7): their definitions for the model and `GET /api/tools`
//! ([`defs`]), the path guard ([`paths`]), the risk rules that decide before a call runs
//! whether it is allowed, refused or needs approval ([`assess`], [`ask`]), running a call
//! with its timeout and cancellation ([`run`]), and turning the output into the tool part's
//! final state with the 50,000-character truncation ([`outcome::finish`]).
//!
//! The chat turn calls, per tool call: [`assess`]; if it asks, the permission module decides
//! (stored grants, the session's severity, or a person); then [`run`]; then [`finish`].
//! Nothing here knows about sessions, the store or the wire beyond the JSON shapes of §8–9.

pub mod ask;
pub mod defs;
mod descriptions;
mod diff;
mod edit;
pub mod env;
mod fsutil;
mod glob;
mod grep;
mod ls;
mod matching;
pub mod outcome;
mod patch;
pub mod paths;
mod read_file;
mod risk;
mod shell;
mod shell_ask;
mod shell_risk;
pub mod todo;
mod walk;
pub mod webfetch;
mod write_file;

#[cfg(test)]
mod testenv;

use serde_json::Value;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

pub use ask::{
    Action, AskSpec, Assessment, GrantScope, Intent, Matcher, Resource, Risk, Target,
    target_covered,
};
pub use defs::{ToolDef, definition, definitions};
pub use env::{ToolEnv, default_tmp_dir};
pub use outcome::{PartOutcome, ToolOutput, finish};
pub use paths::WorkspaceRoots;
pub use todo::{MemoryTodoStore, Todo, TodoPriority, TodoStatus, TodoStore, TodoStoreError};
pub use webfetch::{NetPolicy, WebClient};

/// Decides, before a call runs, whether it may: allowed, refused with a message, or only after
/// approval. An input that does not parse is allowed: [`run`] then fails with the reason and
/// touches nothing.
pub fn assess(name: &str, input: &Value, env: &ToolEnv) -> Assessment {
    match name {
        "read-file" => read_file::assess(input, env),
        "write-file" => write_file::assess(input, env),
        "edit" => edit::assess(input, env),
        "multiedit" => edit::assess_multi(input, env),
        "apply-patch" => patch::assess(input, env),
        "glob" => glob::assess(input, env),
        "grep" => grep::assess(input, env),
        "ls" => ls::assess(input, env),
        "shell" => shell::assess(input, env),
        "webfetch" => webfetch::assess(input, env),
        "todoread" | "todowrite" => Assessment::Allow,
        _ => Assessment::Refuse(format!("Unknown tool: {name}")),
    }
}

/// Runs a call whose [`assess`]ment was allowed or approved, within the tool's timeout counted
/// from now. `env.cancel` stops it at once (a `shell` call's whole process group is killed).
/// The refusals of [`assess`] are applied again; its asks are not.
pub async fn run(name: &str, input: Value, env: &ToolEnv) -> ToolOutput {
    run_from(name, input, env, Instant::now()).await
}

/// [`run`] with the timeout counted from `started`: the moment the call began, before any
/// permission wait, since the timer keeps running while a person decides (§8.2).
pub async fn run_from(name: &str, input: Value, env: &ToolEnv, started: Instant) -> ToolOutput {
    let Some(def) = definition(name) else {
        return ToolOutput::fail(format!("Unknown tool: {name}"));
    };
    let deadline = started + def.timeout;
    let timed_out = || {
        ToolOutput::fail(format!(
            "Tool execution timed out after {} ms",
            def.timeout.as_millis()
        ))
    };
    if Instant::now() >= deadline {
        // The time ran out while a person was deciding: the call does not start.
        return timed_out();
    }
    let call = env.cancel.child_token();
    // Whatever ends this call (timeout, interrupt, the caller dropping it) stops its work.
    let _stop = call.clone().drop_guard();
    let work = dispatch(name, &input, env, &call);
    tokio::select! {
        biased;
        () = env.cancel.cancelled() => ToolOutput::fail("Tool execution interrupted"),
        done = tokio::time::timeout_at(deadline, work) => done.unwrap_or_else(|_| timed_out()),
    }
}

async fn dispatch(
    name: &str,
    input: &Value,
    env: &ToolEnv,
    cancel: &CancellationToken,
) -> ToolOutput {
    match name {
        "read-file" => read_file::run(input, env, cancel).await,
        "write-file" => write_file::run(input, env).await,
        "edit" => edit::run(input, env).await,
        "multiedit" => edit::run_multi(input, env).await,
        "apply-patch" => patch::run(input, env).await,
        "glob" => glob::run(input, env, cancel).await,
        "grep" => grep::run(input, env, cancel).await,
        "ls" => ls::run(input, env, cancel).await,
        "shell" => shell::run(input, env).await,
        "webfetch" => webfetch::run(input, env).await,
        "todoread" => todo::run_read(env).await,
        "todowrite" => todo::run_write(input, env).await,
        _ => ToolOutput::fail(format!("Unknown tool: {name}")),
    }
}

/// Runs file work off the async threads.
async fn blocking(work: impl FnOnce() -> ToolOutput + Send + 'static) -> ToolOutput {
    tokio::task::spawn_blocking(work)
        .await
        .unwrap_or_else(|e| ToolOutput::fail(format!("The tool stopped unexpectedly: {e}")))
}

#[cfg(test)]
mod tests;
