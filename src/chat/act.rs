//! The tool calls of one step (`PROTOCOL-AGENT.md` §8.1–8.4): one `tool` part per call,
//! created `pending` in the order the model made them; then every call runs at once and each
//! part ends `completed`, `error` or `interrupted` (`part.updated` in completion order). No part
//! is left `pending`: an unknown tool or arguments that are not a JSON object end as an `error`
//! the model sees (upstream leaves such parts pending).

use futures_util::future::join_all;
use serde_json::{Map, Value, json};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::Chat;
use super::calls::Call;
use super::history::{call_of, result_of};
use super::plan::Plan;
use super::reply::Reply;
use crate::llm::ChatMessage;
use crate::permissions::{AskContext, Decision};
use crate::store::{Part, StoreError};
use crate::time::now_ms;
use crate::tools::{self, Assessment, PartOutcome, WorkspaceRoots};

/// How a call ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Finished {
    /// The tool's output (with its `_visualization`, if any).
    Completed(Value),
    /// The message the model and the tool card see.
    Failed(String),
    /// `reason` is `user_request` (interrupt) or `error`.
    Interrupted(&'static str),
}

/// What the step's calls left for the next step.
pub struct Acted {
    /// The assistant message with the calls, then one result per call, for the provider.
    pub messages: Vec<ChatMessage>,
    /// Whether an interrupt stopped them.
    pub interrupted: bool,
}

/// Create the parts of `calls`, run them all, and end each part.
pub async fn act(
    chat: &Chat,
    plan: &Plan,
    reply: &mut Reply,
    calls: &[Call],
    step_text: String,
    cancel: &CancellationToken,
) -> Result<Acted, StoreError> {
    let mut parts = Vec::with_capacity(calls.len());
    for call in calls {
        let input = call.input();
        let shown = input.clone().unwrap_or_default();
        let data = json!({"type": "tool", "callId": call.id, "name": call.name,
                          "state": {"status": "pending", "input": shown}});
        parts.push((reply.create_part(data).await?, input));
    }
    let sid = &plan.session.id;
    let open: Vec<String> = calls.iter().map(|c| c.id.clone()).collect();
    chat.runs().set_calls(sid, open);
    let reply = &*reply;
    let runs = parts
        .into_iter()
        .zip(calls)
        .map(|((part, input), call)| async move {
            let started = now_ms();
            let finished = match input {
                Err(why) => Finished::Failed(format!("Invalid arguments for {}: {why}", call.name)),
                Ok(input) => execute(chat, plan, call, input, cancel).await,
            };
            let part = end_part(part, &finished, started);
            reply.update_part(&part).await.map(|()| part)
        });
    let ended = join_all(runs).await;
    chat.runs().set_calls(sid, Vec::new());
    let ended: Vec<Part> = ended.into_iter().collect::<Result<_, _>>()?;
    let text = (!step_text.is_empty()).then_some(step_text);
    let mut messages = vec![ChatMessage::assistant_calls(
        text,
        ended.iter().map(call_of).collect(),
    )];
    for p in &ended {
        let id = p.data.get("callId").and_then(Value::as_str).unwrap_or("");
        messages.push(ChatMessage::tool_result(id, result_of(p)));
    }
    Ok(Acted {
        messages,
        interrupted: cancel.is_cancelled(),
    })
}

/// Run one call whose input parsed: assess it, ask when it needs approval, run it within its
/// timeout (counted from the start, through any wait for a person), and map its output.
async fn execute(
    chat: &Chat,
    plan: &Plan,
    call: &Call,
    input: Map<String, Value>,
    cancel: &CancellationToken,
) -> Finished {
    if !plan.tools.iter().any(|t| t == &call.name) {
        return Finished::Failed(format!("Unknown tool: {}", call.name));
    }
    let Some(def) = tools::definition(&call.name) else {
        return Finished::Failed(format!("Unknown tool: {}", call.name));
    };
    let Some(ws) = &plan.workspace else {
        return Finished::Failed("The session's workspace no longer exists".into());
    };
    let roots = WorkspaceRoots::new(&ws.path, &ws.additional_paths);
    let env = chat.tool_env(&plan.session, roots, cancel.child_token());
    let started = Instant::now();
    let input = Value::Object(input);
    match tools::assess(&call.name, &input, &env) {
        Assessment::Allow => {}
        Assessment::Refuse(why) => return Finished::Failed(why),
        Assessment::Ask(spec) => {
            let cx = AskContext {
                root_session_id: plan
                    .session
                    .parent_id
                    .as_deref()
                    .unwrap_or(&plan.session.id),
                workspace_id: &plan.session.workspace_id,
                auto_approve: plan.session.auto_approve_severity.as_deref(),
                tool_call_id: &call.id,
                tool_name: &call.name,
            };
            let deadline = started + def.timeout;
            match chat
                .permissions()
                .decide(&cx, &spec, deadline, cancel)
                .await
            {
                Decision::Approved => {}
                Decision::Denied => return Finished::Failed("USER_REJECTION".into()),
                Decision::ToolTimedOut => return Finished::Failed(timed_out(def.timeout)),
                Decision::AskTimedOut => {
                    return Finished::Failed("User did not respond in time".into());
                }
                Decision::Cancelled => return Finished::Interrupted("user_request"),
            }
        }
    }
    let out = tools::run_from(&call.name, input, &env, started).await;
    if cancel.is_cancelled() {
        return Finished::Interrupted("user_request");
    }
    let (sid, name, tmp) = (
        plan.session.id.clone(),
        call.name.clone(),
        env.tmp_dir.clone(),
    );
    // `finish` may write a long result to a file: off the async threads.
    let outcome = tokio::task::spawn_blocking(move || {
        tools::finish(&out, &sid, &name, &tmp, crate::time::now_ms())
    })
    .await;
    match outcome {
        Ok(PartOutcome::Completed { output }) => Finished::Completed(output),
        Ok(PartOutcome::Error { error }) => Finished::Failed(error),
        Err(e) => Finished::Failed(format!("The tool stopped unexpectedly: {e}")),
    }
}

fn timed_out(after: std::time::Duration) -> String {
    format!("Tool execution timed out after {} ms", after.as_millis())
}

/// The part's final state (§8.1): `startedAt` is when the call began, the end time now.
fn end_part(mut part: Part, finished: &Finished, started: i64) -> Part {
    let input = part
        .data
        .get("state")
        .and_then(|s| s.get("input"))
        .cloned()
        .unwrap_or_else(|| json!({}));
    let now = now_ms();
    let state = match finished {
        Finished::Completed(output) => json!({"status": "completed", "input": input,
            "output": output, "startedAt": started, "completedAt": now}),
        Finished::Failed(error) => json!({"status": "error", "input": input,
            "error": error, "startedAt": started, "failedAt": now}),
        Finished::Interrupted(reason) => json!({"status": "interrupted", "input": input,
            "startedAt": started, "interruptedAt": now, "reason": reason}),
    };
    part.data.insert("state".into(), state);
    part
}
