//! The built-in preconfigs, with the ids, names, tools, temperatures and modes the original
//! ships (`PROTOCOL-AGENT.md` §8.6), in our own words. They are written to the preconfigs folder
//! once per data dir ([`install_once`]); after that they are ordinary files the user may edit or
//! delete, and a deleted one stays deleted.

use std::io;
use std::path::Path;

use serde_json::{Map, Value, json};

use super::{Preconfig, Subagents, files};

/// Marks a preconfigs folder whose built-ins were installed (a dotfile: neither server lists it).
pub const MARKER: &str = ".jean2-builtins";

const READ_ONLY_TOOLS: &[&str] = &["read-file", "glob", "grep", "ls", "webfetch"];
const CODE_TOOLS: &[&str] = &[
    "read-file",
    "write-file",
    "edit",
    "multiedit",
    "apply-patch",
    "glob",
    "grep",
    "ls",
    "webfetch",
    "shell",
    "todoread",
    "todowrite",
];
const PLANNING_TOOLS: &[&str] = &["read-file", "write-file", "glob", "grep", "ls", "webfetch"];

const GENERAL_PROMPT: &str = "You are a capable general-purpose assistant that can take on \
multi-step work.\n\nWork in small steps: understand what is asked, find the facts you need with \
the tools you have, check what you find, and only then answer. Start broad when searching and \
narrow down. When something fails, try another way before giving up, and say plainly what you \
could not do.\n\nEnd with a clear, well-structured answer that stands on its own.";

const CODE_PROMPT: &str = "You are an experienced software engineer working in the user's \
project. You can read, create and change files and run commands.\n\nRead the relevant code before \
changing it and follow the conventions you find there. Make small, deliberate changes and check \
them (build, tests) when you can. Prefer the most specific tool for each step. Explain briefly \
what you changed and why, and point out risks.";

const PLANNING_PROMPT: &str = "You plan code changes before anyone writes them.\n\nStudy how the \
project is built today, then describe the change: the goal and how to tell it is reached, the \
steps in order, the files each step touches, the edge cases and failure modes, how it will be \
tested, and the trade-offs of the alternatives you considered. State your assumptions. Write the \
plan down as a document when that helps; keep code changes for later.";

const EXPLORE_PROMPT: &str = "You find things in a codebase quickly and report them precisely.\n\n\
Use glob for file names, grep for contents, and read-file once you know which file matters. Match \
your effort to the thoroughness the caller asks for. Report absolute paths and the lines that \
answer the question. Change nothing: create no files and run nothing that alters the system.";

fn temperature(t: f64) -> Map<String, Value> {
    match json!({ "temperature": t }) {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

fn preconfig(id: &str, name: &str, description: &str, prompt: &str, tools: &[&str]) -> Preconfig {
    Preconfig {
        id: id.into(),
        name: name.into(),
        description: description.into(),
        system_prompt: prompt.into(),
        tools: tools.iter().map(|t| (*t).to_owned()).collect(),
        model: None,
        provider: None,
        variant: None,
        settings: temperature(0.3),
        is_default: false,
        mode: "primary".into(),
        can_spawn_subagents: Subagents::All(true),
        allow_self_as_subagent: false,
        skills: None,
    }
}

/// The built-ins, in the original's order.
pub fn builtin() -> Vec<Preconfig> {
    let general = Preconfig {
        is_default: true,
        ..preconfig(
            "general",
            "General",
            "General-purpose agent for researching questions and carrying out multi-step tasks.",
            GENERAL_PROMPT,
            READ_ONLY_TOOLS,
        )
    };
    let code = Preconfig {
        settings: temperature(0.2),
        ..preconfig(
            "code",
            "Code",
            "Agent that writes, changes and debugs code in the workspace.",
            CODE_PROMPT,
            CODE_TOOLS,
        )
    };
    let planning = preconfig(
        "code-planning",
        "Code Planning",
        "Agent that studies a codebase and plans changes, refactorings and designs before they are made.",
        PLANNING_PROMPT,
        PLANNING_TOOLS,
    );
    let explore = Preconfig {
        settings: temperature(0.2),
        mode: "subagent".into(),
        can_spawn_subagents: Subagents::All(false),
        ..preconfig(
            "explore",
            "Explore",
            "Fast read-only agent for finding files and code: give it a question and how thorough to be (quick, medium or very thorough).",
            EXPLORE_PROMPT,
            READ_ONLY_TOOLS,
        )
    };
    vec![general, code, planning, explore]
}

/// Write the built-ins to `dir` unless that was done before (the marker) — each only when no
/// file defines its id yet (`present`), so neither a user's file nor an original install is
/// touched.
pub fn install_once(dir: &Path, present: &[String]) -> io::Result<()> {
    if dir.join(MARKER).exists() {
        return Ok(());
    }
    std::fs::create_dir_all(dir)?;
    for p in builtin() {
        if present.contains(&p.id) {
            continue;
        }
        files::create_new(&dir.join(format!("{}.md", p.id)), &files::to_markdown(&p)?)?;
    }
    std::fs::write(
        dir.join(MARKER),
        "The built-in preconfigs were installed here; delete this file to have missing ones installed again.\n",
    )
}
