//! `write-file`: create or replace a whole file, atomically.

use serde::Deserialize;
use serde_json::{Value, json};

use super::ask::Assessment;
use super::blocking;
use super::env::ToolEnv;
use super::fsutil::{language, write_atomic};
use super::outcome::ToolOutput;
use super::risk::{FileOp, guard, one_file, parse};

const VERB: &str = "Writing to";

#[derive(Deserialize)]
struct Input {
    path: String,
    content: String,
}

pub(super) fn assess(input: &Value, env: &ToolEnv) -> Assessment {
    match parse::<Input>("write-file", input) {
        Ok(i) => one_file(&i.path, env, VERB, FileOp::Write, &[]),
        Err(_) => Assessment::Allow,
    }
}

pub(super) async fn run(input: &Value, env: &ToolEnv) -> ToolOutput {
    let Input { path, content } = match parse::<Input>("write-file", input) {
        Ok(i) => i,
        Err(e) => return ToolOutput::fail(e),
    };
    let path = match guard(&path, env, VERB, &[]) {
        Ok((at, _)) => at.real,
        Err(refusal) => return ToolOutput::fail(refusal),
    };
    blocking(move || {
        if path.is_dir() {
            return ToolOutput::fail(format!("Cannot write a directory: {}", path.display()));
        }
        let existed = path.exists();
        if let Err(e) = write_atomic(&path, content.as_bytes()) {
            return ToolOutput::fail(format!("Cannot write {}: {e}", path.display()));
        }
        let shown = path.to_string_lossy();
        ToolOutput::ok(
            json!({"path": shown, "bytes": content.len()}),
            json!({
                "type": "code", "path": shown, "content": content, "language": language(&path),
                "created": !existed, "lineCount": content.split('\n').count(),
            }),
        )
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tools::testenv::TestEnv;

    #[tokio::test]
    async fn a_new_file_is_created_with_its_folders() {
        let t = TestEnv::new();
        let out = t
            .run(
                "write-file",
                json!({"path": "a/b.rs", "content": "fn x() {}\n"}),
            )
            .await;
        assert!(out.success, "{out:?}");
        assert_eq!(t.read("a/b.rs"), "fn x() {}\n");
        let result = out.result.unwrap();
        assert_eq!(result["bytes"], 10);
        assert_eq!(result["path"], t.ws.join("a/b.rs").to_str().unwrap());
        let viz = out.visualization.unwrap();
        assert_eq!(
            (viz["type"].clone(), viz["created"].clone()),
            (json!("code"), json!(true))
        );
        assert_eq!(
            (viz["language"].clone(), viz["lineCount"].clone()),
            (json!("rust"), json!(2))
        );
    }

    #[tokio::test]
    async fn an_existing_file_is_replaced_and_reported_as_not_created() {
        let t = TestEnv::new();
        t.write("x.txt", "old");
        let out = t
            .run("write-file", json!({"path": "x.txt", "content": "new"}))
            .await;
        assert_eq!(t.read("x.txt"), "new");
        assert_eq!(out.visualization.unwrap()["created"], false);
    }

    #[tokio::test]
    async fn writing_a_system_directory_is_refused_before_and_during_the_run() {
        let t = TestEnv::new();
        let input = json!({"path": "/etc/jean2-test", "content": "x"});
        let refusal = "Writing to system directories is not allowed: /etc/jean2-test";
        assert_eq!(
            t.assess("write-file", &input),
            Assessment::Refuse(refusal.into())
        );
        assert_eq!(
            t.run("write-file", input).await.error.as_deref(),
            Some(refusal)
        );
    }

    #[tokio::test]
    async fn writing_outside_the_workspace_asks_at_medium() {
        let t = TestEnv::new();
        let target = t.outside.join("notes.txt");
        let ask = t.ask("write-file", &json!({"path": target, "content": "x"}));
        assert_eq!(
            ask.question,
            "Writing file \"notes.txt\" (outside workspace) requires approval."
        );
        assert_eq!(ask.risk, crate::tools::Risk::Medium);
        assert_eq!(ask.metadata["operation"], "write");
        assert_eq!(ask.metadata["isOutsideWorkspace"], true);
        assert_eq!(ask.intents[0].targets[0].target, target.to_str().unwrap());
    }

    #[tokio::test]
    async fn a_confined_caller_is_refused_outside_its_workspace() {
        let t = TestEnv::confined();
        let target = t.outside.join("notes.txt");
        let input = json!({"path": target, "content": "x"});
        assert!(
            matches!(t.assess("write-file", &input), Assessment::Refuse(m) if m.starts_with("Access outside"))
        );
        assert!(!t.run("write-file", input).await.success);
        assert!(!target.exists());
    }

    #[tokio::test]
    async fn a_write_through_a_symlink_out_of_the_workspace_asks() {
        let t = TestEnv::new();
        std::os::unix::fs::symlink(&t.outside, t.ws.join("out")).unwrap();
        let ask = t.ask(
            "write-file",
            &json!({"path": "out/new/file.txt", "content": "x"}),
        );
        assert_eq!(
            ask.paths,
            [t.outside.join("new/file.txt").to_str().unwrap()]
        );
    }
}
