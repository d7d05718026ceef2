//! `ls`: a folder drawn as a tree of at most 100 files, build folders and dotfiles left out.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use super::ask::Assessment;
use super::blocking;
use super::env::ToolEnv;
use super::outcome::ToolOutput;
use super::risk::{folder_read, guard, parse};
use super::walk::{SKIP_DIRS, relative, walker};

const VERB: &str = "Listing";
const LIMIT: usize = 100;
/// Names never shown besides [`SKIP_DIRS`].
const HIDDEN_NAMES: &[&str] = &[
    ".DS_Store",
    "Thumbs.db",
    ".env",
    ".env.local",
    ".env.production",
    ".env.development",
];

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Input {
    path: Option<String>,
    #[serde(default)]
    ignore: Vec<String>,
    #[serde(default)]
    show_hidden: bool,
}

/// Upstream lists any folder without asking; here a folder outside the workspace asks like
/// `glob` does, since a listing tells as much as a glob.
pub(super) fn assess(input: &Value, env: &ToolEnv) -> Assessment {
    let Ok(input) = parse::<Input>("ls", input) else {
        return Assessment::Allow;
    };
    let question = "Listing a folder outside the workspace requires approval.";
    folder_read(
        input.path.as_deref().unwrap_or("."),
        env,
        VERB,
        "ls",
        (question, None),
    )
}

pub(super) async fn run(input: &Value, env: &ToolEnv, cancel: &CancellationToken) -> ToolOutput {
    let input = match parse::<Input>("ls", input) {
        Ok(i) => i,
        Err(e) => return ToolOutput::fail(e),
    };
    let dir = match guard(
        input.path.as_deref().unwrap_or("."),
        env,
        VERB,
        &env.free_reads(false),
    ) {
        Ok((at, _)) => at.real,
        Err(refusal) => return ToolOutput::fail(refusal),
    };
    let cancel = cancel.clone();
    blocking(move || list(&dir, &input, &cancel)).await
}

fn list(dir: &Path, input: &Input, cancel: &CancellationToken) -> ToolOutput {
    match std::fs::metadata(dir) {
        Err(_) => return ToolOutput::fail(format!("Directory not found: {}", dir.display())),
        Ok(m) if !m.is_dir() => {
            return ToolOutput::fail(format!("Not a directory: {}", dir.display()));
        }
        Ok(_) => {}
    }
    let (ignore, show_hidden) = (input.ignore.clone(), input.show_hidden);
    let mut walk = walker(dir);
    walk.sort_by_file_name(|a, b| a.cmp(b))
        .filter_entry(move |entry| {
            let name = entry.file_name().to_string_lossy();
            entry.depth() == 0
                || !(SKIP_DIRS.contains(&name.as_ref())
                    || HIDDEN_NAMES.contains(&name.as_ref())
                    || ignore.iter().any(|i| i == name.as_ref())
                    || (!show_hidden && name.starts_with('.')))
        });
    let mut files = Vec::new();
    let mut more = false;
    for entry in walk.build() {
        if cancel.is_cancelled() {
            return ToolOutput::fail("interrupted");
        }
        let Ok(entry) = entry else { continue };
        if entry.depth() == 0 || entry.file_type().is_some_and(|t| t.is_dir()) {
            continue;
        }
        if files.len() == LIMIT {
            more = true;
            break;
        }
        files.push(relative(dir, entry.path()));
    }
    let mut content = render(&files);
    if more {
        content.push_str(&format!(
            "\n\n(Showing the first {LIMIT} entries. Use grep or glob for targeted searching.)"
        ));
    }
    let mut result = json!({"content": content, "_count": files.len()});
    if more {
        result["_truncated"] = json!(true);
    }
    let shown = input.path.as_deref().unwrap_or("workspace");
    ToolOutput::ok(
        result,
        json!({"type": "none", "message": format!("Ls: {shown}")}),
    )
}

#[derive(Default)]
struct Node {
    dirs: BTreeMap<String, Node>,
    files: Vec<String>,
}

/// The tree of `files` (relative paths): `./`, then each folder's folders and files, sorted.
fn render(files: &[String]) -> String {
    let mut root = Node::default();
    for file in files {
        let mut parts: Vec<&str> = file.split('/').collect();
        let name = parts.pop().unwrap_or_default();
        let node = parts
            .into_iter()
            .fold(&mut root, |n, d| n.dirs.entry(d.to_owned()).or_default());
        node.files.push(name.to_owned());
    }
    let mut lines = vec!["./".to_owned()];
    draw(&root, "    ", &mut lines);
    lines.join("\n")
}

fn draw(node: &Node, prefix: &str, lines: &mut Vec<String>) {
    let mut files = node.files.clone();
    files.sort();
    let total = node.dirs.len() + files.len();
    for (i, (name, child)) in node.dirs.iter().enumerate() {
        let last = i + 1 == total;
        lines.push(format!(
            "{prefix}{}{name}/",
            if last { "└── " } else { "├── " }
        ));
        draw(
            child,
            &format!("{prefix}{}", if last { "    " } else { "│   " }),
            lines,
        );
    }
    for (i, name) in files.iter().enumerate() {
        let last = node.dirs.len() + i + 1 == total;
        lines.push(format!(
            "{prefix}{}{name}",
            if last { "└── " } else { "├── " }
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tools::testenv::TestEnv;

    #[tokio::test]
    async fn a_folder_is_drawn_as_a_tree_without_build_folders_and_dotfiles() {
        let t = TestEnv::new();
        for f in [
            "b.txt",
            "src/main.rs",
            "src/lib/mod.rs",
            "node_modules/x.js",
            ".env",
            ".git/HEAD",
            "a.md",
        ] {
            t.write(f, "");
        }
        let out = t.run("ls", json!({})).await;
        let result = out.result.unwrap();
        let expected = "./\n    ├── src/\n    │   ├── lib/\n    │   │   └── mod.rs\n    │   └── main.rs\n    ├── a.md\n    └── b.txt";
        assert_eq!(result["content"], expected);
        assert_eq!(result["_count"], 4);
        assert!(result.get("_truncated").is_none());
        assert_eq!(out.visualization.unwrap()["message"], "Ls: workspace");
    }

    #[tokio::test]
    async fn hidden_files_show_on_request_and_ignore_names_hide() {
        let t = TestEnv::new();
        t.write(".config", "");
        t.write("skip/a.txt", "");
        let out = t
            .run("ls", json!({"showHidden": true, "ignore": ["skip"]}))
            .await;
        assert_eq!(out.result.unwrap()["content"], "./\n    └── .config");
    }

    #[tokio::test]
    async fn a_large_folder_stops_at_a_hundred_entries() {
        let t = TestEnv::new();
        for i in 0..120 {
            t.write(&format!("f{i:03}.txt"), "");
        }
        let result = t.run("ls", json!({})).await.result.unwrap();
        assert_eq!(
            (result["_count"].clone(), result["_truncated"].clone()),
            (json!(100), json!(true))
        );
        assert!(
            result["content"]
                .as_str()
                .unwrap()
                .ends_with("Use grep or glob for targeted searching.)")
        );
        assert!(result["content"].as_str().unwrap().contains("f099.txt"));
    }

    #[tokio::test]
    async fn a_missing_folder_or_a_file_fails() {
        let t = TestEnv::new();
        t.write("f.txt", "");
        let missing = t.run("ls", json!({"path": "nope"})).await;
        assert_eq!(
            missing.error,
            Some(format!(
                "Directory not found: {}",
                t.ws.join("nope").display()
            ))
        );
        let file = t.run("ls", json!({"path": "f.txt"})).await;
        assert_eq!(
            file.error,
            Some(format!("Not a directory: {}", t.ws.join("f.txt").display()))
        );
    }

    #[tokio::test]
    async fn listing_outside_the_workspace_asks_and_confined_callers_are_refused() {
        let t = TestEnv::new();
        let ask = t.ask("ls", &json!({"path": t.outside}));
        assert_eq!(
            ask.question,
            "Listing a folder outside the workspace requires approval."
        );
        let c = TestEnv::confined();
        assert!(matches!(
            c.assess("ls", &json!({"path": ".."})),
            Assessment::Refuse(_)
        ));
        assert!(
            c.run("ls", json!({"path": ".."}))
                .await
                .error
                .unwrap()
                .starts_with("Access outside")
        );
    }
}
