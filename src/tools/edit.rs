//! `edit` (one replacement) and `multiedit` (several, all or nothing) in one file. The file is
//! read whole, changed in memory, and written once, atomically.

use std::path::Path;

use serde::Deserialize;
use serde_json::{Value, json};

use super::ask::{Action, Assessment};
use super::blocking;
use super::diff;
use super::env::ToolEnv;
use super::fsutil::write_atomic;
use super::matching::{self, Strategy, adapt_replacement};
use super::outcome::ToolOutput;
use super::risk::{FileOp, Need, file_ask, guard, one_file, parse, path_ask};

const VERB: &str = "Editing";
/// More edits than this in one `multiedit` call ask first.
const MAX_EDITS_WITHOUT_APPROVAL: usize = 10;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Edit {
    old_string: String,
    new_string: String,
    strategy: Option<String>,
}

#[derive(Deserialize)]
struct EditInput {
    path: String,
    #[serde(flatten)]
    edit: Edit,
}

#[derive(Deserialize)]
struct MultiInput {
    path: String,
    edits: Vec<Edit>,
}

pub(super) fn assess(input: &Value, env: &ToolEnv) -> Assessment {
    match parse::<EditInput>("edit", input) {
        Ok(i) => one_file(&i.path, env, VERB, FileOp::Edit, &[]),
        Err(_) => Assessment::Allow,
    }
}

pub(super) fn assess_multi(input: &Value, env: &ToolEnv) -> Assessment {
    let Ok(input) = parse::<MultiInput>("multiedit", input) else {
        return Assessment::Allow;
    };
    let (at, need) = match guard(&input.path, env, VERB, &[]) {
        Ok(found) => found,
        Err(refusal) => return Assessment::Refuse(refusal),
    };
    let many = input.edits.len() > MAX_EDITS_WITHOUT_APPROVAL;
    let mut ask = match need {
        Need::Approval { outside, sensitive } => file_ask(&at, FileOp::Edit, outside, sensitive),
        Need::Nothing if many => {
            let question = format!(
                "Editing more than {MAX_EDITS_WITHOUT_APPROVAL} edits at once requires approval."
            );
            path_ask(question, "edit", Action::Write, &at, false, false)
        }
        Need::Nothing => return Assessment::Allow,
    };
    if many {
        if !ask.question.starts_with("Editing more") {
            ask.question
                .push_str(&format!(" It makes {} edits at once.", input.edits.len()));
        }
        ask.metadata
            .insert("editCount".into(), json!(input.edits.len()));
    }
    Assessment::Ask(Box::new(ask))
}

/// Checks the edits before anything is read; `numbered` names them as multiedit does.
fn validate(edits: &[Edit], numbered: bool) -> Result<Vec<Option<Strategy>>, String> {
    if edits.is_empty() {
        return Err("edits must be a non-empty array.".into());
    }
    edits
        .iter()
        .enumerate()
        .map(|(i, e)| {
            if e.old_string.is_empty() {
                return Err(match numbered {
                    true => format!("edits[{i}].oldString must be a non-empty string."),
                    false => "oldString must be a non-empty string.".into(),
                });
            }
            match &e.strategy {
                None => Ok(None),
                Some(s) => Strategy::parse(s).map(Some).ok_or_else(|| match numbered {
                    true => format!("edits[{i}].strategy is unknown: {s}."),
                    false => format!("Unknown strategy: {s}."),
                }),
            }
        })
        .collect()
}

pub(super) async fn run(input: &Value, env: &ToolEnv) -> ToolOutput {
    match parse::<EditInput>("edit", input) {
        Ok(i) => apply(&i.path, vec![i.edit], false, env).await,
        Err(e) => ToolOutput::fail(e),
    }
}

pub(super) async fn run_multi(input: &Value, env: &ToolEnv) -> ToolOutput {
    match parse::<MultiInput>("multiedit", input) {
        Ok(i) => apply(&i.path, i.edits, true, env).await,
        Err(e) => ToolOutput::fail(e),
    }
}

async fn apply(path: &str, edits: Vec<Edit>, multi: bool, env: &ToolEnv) -> ToolOutput {
    let strategies = match validate(&edits, multi) {
        Ok(s) => s,
        Err(e) => return ToolOutput::fail(e),
    };
    let path = match guard(path, env, VERB, &[]) {
        Ok((at, _)) => at.real,
        Err(refusal) => return ToolOutput::fail(refusal),
    };
    blocking(move || match edit_file(&path, &edits, &strategies, multi) {
        Ok(done) => done,
        Err(e) => ToolOutput::fail(e),
    })
    .await
}

/// One applied edit: the text before it, the match, and the text after it.
struct Step {
    before: String,
    after: String,
    mode: &'static str,
    line: usize,
}

fn edit_file(
    path: &Path,
    edits: &[Edit],
    strategies: &[Option<Strategy>],
    multi: bool,
) -> Result<ToolOutput, String> {
    if !path.exists() {
        return Err(format!("File not found: {}", path.display()));
    }
    let bytes = std::fs::read(path).map_err(|e| format!("Cannot read {}: {e}", path.display()))?;
    let mut text = String::from_utf8(bytes).map_err(|_| {
        format!(
            "Cannot edit a file that is not UTF-8 text: {}",
            path.display()
        )
    })?;
    let mut steps = Vec::new();
    for (i, (edit, strategy)) in edits.iter().zip(strategies).enumerate() {
        let step = replace_once(&text, edit, *strategy, multi.then_some(i))?;
        text.clone_from(&step.after);
        steps.push(step);
    }
    write_atomic(path, text.as_bytes())
        .map_err(|e| format!("Cannot write {}: {e}", path.display()))?;
    let info = |s: &Step| json!({"matchInfo": {"mode": s.mode, "lineNumber": s.line}});
    let diff_of = |s: &Step| diff::visualization(path, &s.before, &s.after, Some((s.mode, s.line)));
    Ok(if multi {
        let results: Vec<Value> = steps.iter().map(info).collect();
        let items: Vec<Value> = steps.iter().map(diff_of).collect();
        ToolOutput::ok(
            json!({"results": results}),
            json!({"type": "diffs", "items": items}),
        )
    } else {
        ToolOutput::ok(info(&steps[0]), diff_of(&steps[0]))
    })
}

fn replace_once(
    text: &str,
    edit: &Edit,
    strategy: Option<Strategy>,
    index: Option<usize>,
) -> Result<Step, String> {
    let search = matching::find(text, &edit.old_string, strategy);
    let passes = search.summary();
    let which = index.map(|i| format!(" for edit {i}")).unwrap_or_default();
    match search.found.as_slice() {
        [] => Err(match index {
            Some(i) => format!(
                "No match for edit {i}. Passes: {passes}. Re-read the file before retrying."
            ),
            None => format!("No match found. Passes: {passes}. Re-read the file before retrying."),
        }),
        [found] => {
            let replacement = adapt_replacement(&edit.new_string, found.mode, text);
            let after = format!(
                "{}{replacement}{}",
                &text[..found.start],
                &text[found.end..]
            );
            Ok(Step {
                before: text.to_owned(),
                after,
                mode: found.mode.as_str(),
                line: found.line,
            })
        }
        many => Err(format!(
            "Found {} matches{which}. Passes: {passes}. Provide a more specific oldString.",
            many.len()
        )),
    }
}

#[cfg(test)]
#[path = "edit_tests.rs"]
mod tests;
