//! The dependency rule of the map in `lib.rs`, checked: every `crate::<module>` path in a
//! module's source (comments aside) names a module below it in [`ORDER`]. A new top-level
//! module must be placed in the order, or this test fails.

use std::path::Path;

/// The top-level modules, top to bottom, as the map in `lib.rs` lists them.
const ORDER: &[&str] = &[
    "cli",
    "admin",
    "daemon",
    "server",
    "router",
    "layers",
    "api",
    "ws",
    "routes",
    "app",
    "sessions",
    "chat",
    "permissions",
    "files",
    "terminal",
    "tools",
    "auth",
    "events",
    "llm",
    "error",
    "store",
    "config",
    "proc",
    "time",
    "console",
];

/// Files that are not modules of the library (the binary sits above everything).
const SKIP: &[&str] = &["main.rs", "lib.rs", "layering.rs"];

fn rank(module: &str) -> Option<usize> {
    ORDER.iter().position(|m| *m == module)
}

/// The top-level module a file under `src/` belongs to.
fn owner(src: &Path, file: &Path) -> Option<String> {
    let rel = file.strip_prefix(src).ok()?;
    let first = rel.components().next()?.as_os_str().to_str()?;
    Some(first.trim_end_matches(".rs").to_owned())
}

/// Every `crate::x` in the code of `text` (line comments and doc comments left out).
fn uses(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in text.lines() {
        let code = match line.find("//") {
            Some(i) => &line[..i],
            None => line,
        };
        let mut rest = code;
        while let Some(i) = rest.find("crate::") {
            let after = &rest[i + "crate::".len()..];
            match after.strip_prefix('{') {
                // `crate::{a::x, b}`: the first name of each item at the top level.
                Some(group) => out.extend(group_heads(group)),
                None => out.extend(head(after)),
            }
            rest = after;
        }
    }
    out
}

/// The module name a path starts with (lower-case: types and constants are not modules).
fn head(path: &str) -> Option<String> {
    let name: String = path
        .trim_start()
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    name.chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase())
        .then_some(name)
}

/// The heads of the items of a `{…}` group (up to its closing brace on this line).
fn group_heads(group: &str) -> Vec<String> {
    let mut heads = Vec::new();
    let mut depth = 0;
    let mut start = true;
    for (i, c) in group.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => break,
            '}' => depth -= 1,
            ',' if depth == 0 => start = true,
            c if start && !c.is_whitespace() => {
                heads.extend(head(&group[i..]));
                start = false;
            }
            _ => {}
        }
    }
    heads
}

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

#[test]
fn no_module_imports_one_above_it() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut wrong = Vec::new();
    for file in &files {
        let Some(module) = owner(&src, file) else {
            continue;
        };
        if SKIP.contains(&format!("{module}.rs").as_str()) {
            continue;
        }
        let Some(mine) = rank(&module) else {
            wrong.push(format!(
                "{module} is not in the layering order (src/layering.rs)"
            ));
            continue;
        };
        let text = std::fs::read_to_string(file).unwrap_or_default();
        for used in uses(&text) {
            if used == module || used == "VERSION" {
                continue;
            }
            match rank(&used) {
                Some(theirs) if theirs > mine => {}
                Some(_) => wrong.push(format!(
                    "{} uses crate::{used}, which is above {module}",
                    file.strip_prefix(&src).unwrap_or(file).display()
                )),
                None => wrong.push(format!(
                    "{} uses crate::{used}, which is not in the layering order",
                    file.strip_prefix(&src).unwrap_or(file).display()
                )),
            }
        }
    }
    wrong.sort();
    wrong.dedup();
    assert!(wrong.is_empty(), "layering broken:\n{}", wrong.join("\n"));
}

#[test]
fn the_scanner_finds_paths_in_code_but_not_in_comments() {
    let text = "use crate::store::Scope; // crate::api is mentioned\n/// see [`crate::ws`]\nlet x = crate::time::now();\nuse crate::{app::AppState, events::{Hub, hub}, VERSION};";
    assert_eq!(uses(text), ["store", "time", "app", "events"]);
}
