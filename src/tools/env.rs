//! What one tool call runs with: whose session, which folders, what it may do, and the shared
//! handles (the web client, the todo store). The chat turn builds one per call; every field is
//! cheap to clone.

use std::path::PathBuf;
use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use super::outcome::safe_name;
use super::paths::{WorkspaceRoots, resolve};
use super::todo::TodoStore;
use super::webfetch::WebClient;

/// The context of one tool call.
#[derive(Clone)]
pub struct ToolEnv {
    /// The session the call belongs to (its todo list, its truncation files).
    pub session_id: String,
    /// The workspace path and its additional paths, resolved.
    pub roots: WorkspaceRoots,
    /// OAuth users and apps: no path outside the roots at all, even with a grant (refused
    /// instead of asked), and no `shell`.
    pub confined: bool,
    /// Whether `shell` may run at all (only the owner's sessions, §11 item 4).
    pub allow_shell: bool,
    /// Names set in `<data dir>/.env`, kept out of `shell`'s environment.
    pub env_file_keys: Vec<String>,
    /// The vetted HTTP client of `webfetch`.
    pub web: WebClient,
    /// Where `todoread`/`todowrite` keep the session's list.
    pub todos: Arc<dyn TodoStore>,
    /// `<os tmp>/jean2`: truncated results go to `<tmp_dir>/<session_id>/`, which `read-file`,
    /// `glob` and `grep` read without asking.
    pub tmp_dir: PathBuf,
    /// The attachment folder, which `read-file` reads without asking.
    pub upload_dir: Option<PathBuf>,
    /// Fires on interrupt or shutdown: the call stops at once.
    pub cancel: CancellationToken,
}

impl ToolEnv {
    /// This session's folder of truncated results, resolved.
    pub fn session_tmp(&self) -> PathBuf {
        resolve(&self.tmp_dir.join(safe_name(&self.session_id)))
    }

    /// Folders a reading tool may read without asking besides the workspace: this session's
    /// truncation folder and (for `read-file`) the upload folder. Upstream lets every session
    /// read every other session's truncation files; here it is only its own.
    pub fn free_reads(&self, with_uploads: bool) -> Vec<PathBuf> {
        let mut dirs = vec![self.session_tmp()];
        if with_uploads && let Some(upload) = &self.upload_dir {
            dirs.push(resolve(upload));
        }
        dirs
    }
}

/// The default truncation folder: `<os tmp>/jean2` (`TMPDIR` is honoured by the OS call).
pub fn default_tmp_dir() -> PathBuf {
    std::env::temp_dir().join("jean2")
}
