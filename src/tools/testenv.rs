//! A workspace in a temporary folder and a call environment around it, for the tools' tests.

use std::path::PathBuf;
use std::sync::Arc;

use serde_json::Value;
use tokio_util::sync::CancellationToken;

use super::ask::{AskSpec, Assessment};
use super::env::ToolEnv;
use super::outcome::ToolOutput;
use super::paths::{WorkspaceRoots, resolve};
use super::todo::MemoryTodoStore;
use super::webfetch::{NetPolicy, WebClient};

pub struct TestEnv {
    _dir: tempfile::TempDir,
    /// The workspace root, resolved.
    pub ws: PathBuf,
    /// A folder beside it, outside the workspace.
    pub outside: PathBuf,
    pub env: ToolEnv,
}

impl TestEnv {
    pub fn new() -> Self {
        Self::build(false)
    }

    /// An OAuth user's environment: confined, no shell.
    pub fn confined() -> Self {
        Self::build(true)
    }

    fn build(confined: bool) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let base = resolve(dir.path());
        let ws = base.join("ws");
        let outside = base.join("outside");
        std::fs::create_dir_all(&ws).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        let env = ToolEnv {
            session_id: "ses_test".into(),
            roots: WorkspaceRoots::new(&ws, &[] as &[PathBuf]),
            confined,
            allow_shell: !confined,
            env_file_keys: Vec::new(),
            web: WebClient::new(NetPolicy::default()).unwrap(),
            todos: Arc::new(MemoryTodoStore::default()),
            tmp_dir: base.join("tmp"),
            upload_dir: Some(base.join("uploads")),
            cancel: CancellationToken::new(),
        };
        Self {
            _dir: dir,
            ws,
            outside,
            env,
        }
    }

    pub async fn run(&self, name: &str, input: Value) -> ToolOutput {
        super::run(name, input, &self.env).await
    }

    pub fn assess(&self, name: &str, input: &Value) -> Assessment {
        super::assess(name, input, &self.env)
    }

    /// The ask of a call that must ask.
    pub fn ask(&self, name: &str, input: &Value) -> AskSpec {
        match self.assess(name, input) {
            Assessment::Ask(ask) => *ask,
            other => panic!("{name} {input}: expected an ask, got {other:?}"),
        }
    }

    pub fn write(&self, rel: &str, content: &str) -> PathBuf {
        let path = self.ws.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, content).unwrap();
        path
    }

    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.ws.join(rel)).unwrap()
    }
}
