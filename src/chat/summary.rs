//! The pure parts of a compaction (`PROTOCOL-AGENT.md` §11.5): when a session is worth
//! compacting, the automatic threshold, the summary request's text, and which old tool outputs
//! are cleared. No I/O here; [`super::compaction`] runs it.

use serde_json::Value;

use crate::store::{MessageWithParts, Part, Role};

/// What the model reads for a compaction trigger (the user turn before the summary).
pub const TRIGGER_TEXT: &str = "What did we do so far?";
/// The same after a context overflow.
pub const OVERFLOW_TRIGGER_TEXT: &str =
    "Continue from where we left off, summarizing what we did so far.";
/// Why a compaction was refused before it began.
pub const TOO_SHORT: &str =
    "Not enough messages for compaction (need at least a user and assistant turn)";
/// How every summary request begins (the fake provider of the tests recognises it).
pub const PROMPT_START: &str = "Summarize the conversation below";

/// The most of one tool's input or output quoted in the summary request.
const TOOL_QUOTE: usize = 500;
/// The most output tokens a summary may take.
const SUMMARY_MAX_TOKENS: u64 = 8000;
/// Tool outputs up to this size stay visible after a compaction.
const SMALL_OUTPUT: usize = 1000;
/// The newest large tool outputs kept visible after a compaction.
const KEEP_RECENT_OUTPUTS: usize = 3;
/// Characters per token assumed when fitting text into a window (on the safe side: code and
/// non-English text run below the usual four).
pub const CHARS_PER_TOKEN: u64 = 3;

/// Whether `m` takes part in a compaction (failed attempts and bare triggers do not).
fn counts(m: &MessageWithParts) -> bool {
    let mode = m.message.assistant.as_ref().and_then(|a| a.mode.as_deref());
    let bare_trigger = m.parts.iter().all(|p| p.kind() == "compaction");
    m.message.role != Role::System
        && !matches!(mode, Some("compact_failed" | "retry_failed"))
        && !bare_trigger
}

/// Whether `messages` (those after the last summary) hold a user turn and a reply to it.
pub fn worth_compacting(messages: &[MessageWithParts]) -> bool {
    let counted: Vec<&MessageWithParts> = messages.iter().filter(|m| counts(m)).collect();
    counted.len() >= 2 && counted.iter().any(|m| m.message.role == Role::User)
}

/// Input tokens at or above which a finished turn is followed by a compaction, for a model
/// with context window `cw` and output limit `max_out`: `min(cw × 3/4, cw − reserve − margin)`
/// where the reserve (room for the reply) is `min(max_out, 32000, cw/4)` and the margin
/// `min(20000, cw/10)`. The result is always between 65 % and 75 % of the window: unlike the
/// original's formula it never drops to 0 (compacting after every turn) for small windows.
pub fn auto_threshold(cw: u64, max_out: u64) -> u64 {
    let reserve = max_out.min(32_000).min(cw / 4);
    let margin = (cw / 10).min(20_000);
    (cw * 3 / 4).min(cw - reserve - margin)
}

/// The summary's output cap for a model with window `cw` (when known) and output limit
/// `max_out` (when known).
pub fn summary_max_tokens(cw: Option<u64>, max_out: Option<u64>) -> u64 {
    let mut cap = SUMMARY_MAX_TOKENS;
    if let Some(m) = max_out {
        cap = cap.min(m);
    }
    if let Some(w) = cw {
        cap = cap.min(w / 4);
    }
    cap.max(1)
}

/// The most characters of conversation a summary request may quote, so that the request
/// itself fits the window (`None`: unknown window; a generous bound).
pub fn conversation_budget(cw: Option<u64>, summary_tokens: u64) -> usize {
    let tokens = match cw {
        // The prompt's own words and the previous summary take about a tenth more.
        Some(w) => w.saturating_sub(summary_tokens).saturating_mul(9) / 10,
        None => 100_000,
    };
    usize::try_from(tokens.saturating_mul(CHARS_PER_TOKEN)).unwrap_or(usize::MAX)
}

fn clip(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}…(truncated)", &s[..i]),
        None => s.to_owned(),
    }
}

fn quote(v: &Value) -> String {
    match v {
        Value::String(s) => clip(s, TOOL_QUOTE),
        other => clip(&other.to_string(), TOOL_QUOTE),
    }
}

fn tool_lines(p: &Part, out: &mut Vec<String>) {
    let name = p.data.get("name").and_then(Value::as_str).unwrap_or("tool");
    let state = p.data.get("state").cloned().unwrap_or(Value::Null);
    out.push(format!("[tool {name}] input: {}", quote(&state["input"])));
    match state.get("status").and_then(Value::as_str) {
        Some("completed") => out.push(format!("output: {}", quote(&state["output"]))),
        Some("error") => out.push(format!("error: {}", quote(&state["error"]))),
        _ => out.push("(did not finish)".to_owned()),
    }
}

/// The conversation as plain text, `--- USER ---` / `--- ASSISTANT ---` headed, tool calls
/// quoted briefly; only the newest `budget` characters are kept.
pub fn conversation_text(messages: &[MessageWithParts], budget: usize) -> String {
    let mut lines = Vec::new();
    for m in messages.iter().filter(|m| counts(m)) {
        let who = if m.message.role == Role::User {
            "USER"
        } else {
            "ASSISTANT"
        };
        lines.push(format!("--- {who} ---"));
        for p in &m.parts {
            match p.kind() {
                "text" => {
                    let t = p.data.get("text").and_then(Value::as_str).unwrap_or("");
                    lines.push(t.to_owned());
                }
                "tool" => tool_lines(p, &mut lines),
                _ => {}
            }
        }
    }
    keep_tail(&lines.join("\n"), budget)
}

/// The last `budget` characters of `text`, marked as cut when something was left out.
fn keep_tail(text: &str, budget: usize) -> String {
    let total = text.chars().count();
    if total <= budget {
        return text.to_owned();
    }
    let skip = total - budget;
    let start = text.char_indices().nth(skip).map_or(text.len(), |(i, _)| i);
    format!(
        "[… the oldest part of the conversation is left out]\n{}",
        &text[start..]
    )
}

/// The one user message of a summary request.
pub fn prompt(previous: Option<&str>, conversation: &str) -> String {
    let sections = "Use these headings:\n\
        - Goal: what the user is after\n\
        - Decisions: what was chosen, and why\n\
        - Changes: files, functions and settings created or modified (with their paths)\n\
        - State: what is known, set up or running now\n\
        - Next: open questions and the steps planned next\n\n\
        Be concrete: keep paths, names, commands, numbers and error messages exactly.";
    match previous {
        None => format!(
            "{PROMPT_START} so that the work can go on without it: whoever continues will see \
             only your summary and the messages that follow it.\n\n{sections}\n\n\
             The conversation:\n{conversation}"
        ),
        Some(prev) => format!(
            "{PROMPT_START} so that the work can go on without it. An earlier summary covers \
             what came before these messages: write one updated summary that merges the two, \
             as short as the facts allow.\n\n{sections}\n\n\
             The earlier summary:\n{prev}\n\nThe messages since:\n{conversation}"
        ),
    }
}

/// The tool parts among `messages` whose output a compaction clears for the model: every
/// completed output larger than [`SMALL_OUTPUT`] characters but the newest
/// [`KEEP_RECENT_OUTPUTS`] of them. (The messages are no longer sent once summarised; the
/// mark keeps a later fork or a reverted summary from sending them whole again.)
pub fn outputs_to_clear(messages: &[MessageWithParts]) -> Vec<String> {
    let large: Vec<&Part> = messages
        .iter()
        .flat_map(|m| &m.parts)
        .filter(|p| p.kind() == "tool")
        .filter(|p| {
            let state = &p.data["state"];
            state["status"] == "completed"
                && state.get("compactedAt").is_none()
                && state["output"].to_string().len() > SMALL_OUTPUT
        })
        .collect();
    let keep = large.len().saturating_sub(KEEP_RECENT_OUTPUTS);
    large[..keep].iter().map(|p| p.id.clone()).collect()
}

#[cfg(test)]
#[path = "summary_tests.rs"]
mod tests;
