//! Workspaces: list (creating upstream's default virtual workspace when there is none), create
//! (with its directory), read, update, delete (with everything its sessions had running).

use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};

use super::{Error, Sessions};
use crate::events::{Audience, ServerEvent};
use crate::store::Scope;
use crate::store::Workspace;
use crate::store::workspaces::{NewWorkspace, WorkspacePatch};
use crate::time::now_iso;

/// A valid request for a new workspace.
#[derive(Debug, Clone, PartialEq)]
pub struct CreateWorkspace {
    pub name: String,
    pub path: Option<String>,
    pub is_virtual: bool,
    pub additional_paths: Vec<String>,
    pub settings: Option<Map<String, Value>>,
}

/// A valid change of a workspace (at least one field present).
#[derive(Debug, Clone, PartialEq)]
pub struct UpdateWorkspace {
    pub name: Option<String>,
    pub additional_paths: Option<Vec<String>>,
    pub settings: Option<Map<String, Value>>,
}

fn default_settings() -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("autoApproveSeverity".into(), json!("low"));
    m
}

/// Folders of the server's file system are the owner's: a person signed in through OAuth (or an
/// application's key) gets virtual workspaces only, never a path of their choosing.
fn server_folders_are_the_owners(scope: &Scope) -> Result<(), Error> {
    match scope {
        Scope::All => Ok(()),
        Scope::Owner(_) => Err(Error::Forbidden(
            "Only the server's owner may use folders of the server as workspaces; create a virtual workspace instead ({\"name\": ..., \"isVirtual\": true} without a path)".into(),
        )),
    }
}

impl Sessions {
    /// Every workspace the caller sees, oldest first. Upstream quirk the clients rely on: an
    /// empty list gets a default virtual workspace.
    pub async fn workspaces(&self, scope: &Scope) -> Result<Vec<Workspace>, Error> {
        let list = self
            .store()
            .list_workspaces(scope)
            .await
            .map_err(Error::from)?;
        if !list.is_empty() {
            return Ok(list);
        }
        let _guard = self.inner.default_workspace.lock().await;
        let list = self
            .store()
            .list_workspaces(scope)
            .await
            .map_err(Error::from)?;
        if !list.is_empty() {
            return Ok(list);
        }
        let input = CreateWorkspace {
            name: "Virtual Workspace".into(),
            path: None,
            is_virtual: true,
            additional_paths: Vec::new(),
            settings: None,
        };
        let ws = self.create_workspace(scope, input).await?;
        tracing::info!(workspace.path = %ws.path, "created the default virtual workspace");
        Ok(vec![ws])
    }

    pub async fn workspace(&self, scope: &Scope, id: &str) -> Result<Workspace, Error> {
        self.store()
            .get_workspace(scope, id)
            .await
            .map_err(Error::from)
    }

    pub async fn create_workspace(
        &self,
        scope: &Scope,
        input: CreateWorkspace,
    ) -> Result<Workspace, Error> {
        if input.path.is_some() || !input.additional_paths.is_empty() {
            server_folders_are_the_owners(scope)?;
        }
        let id = uuid::Uuid::new_v4().to_string();
        let dir = make_dir(&input, &self.inner.data_dir, &id).await?;
        let new = NewWorkspace {
            id,
            name: input.name,
            path: dir.display().to_string(),
            is_virtual: input.is_virtual,
            additional_paths: existing_paths(&input.additional_paths).await,
            settings: input.settings.unwrap_or_else(default_settings),
        };
        self.store()
            .create_workspace(scope, new, &now_iso())
            .await
            .map_err(Error::from)
    }

    pub async fn update_workspace(
        &self,
        scope: &Scope,
        id: &str,
        input: UpdateWorkspace,
    ) -> Result<Workspace, Error> {
        if input.additional_paths.is_some() {
            server_folders_are_the_owners(scope)?;
        }
        let additional_paths = match &input.additional_paths {
            Some(p) => Some(existing_paths(p).await),
            None => None,
        };
        let patch = WorkspacePatch {
            name: input.name,
            additional_paths,
            settings: input.settings,
        };
        self.store()
            .update_workspace(scope, id, patch, &now_iso())
            .await
            .map_err(Error::from)
    }

    /// Delete a workspace with its sessions; returns the ids of the sessions removed. Their
    /// turns stop and the connections that had them open hear `session.deleted`.
    pub async fn delete_workspace(&self, scope: &Scope, id: &str) -> Result<Vec<String>, Error> {
        let deleted = self
            .store()
            .delete_workspace(scope, id)
            .await
            .map_err(Error::from)?;
        for s in &deleted {
            self.forget_session(s, None);
        }
        self.remove_attachments(&deleted).await;
        // Its terminals run in its folder: they end with it.
        self.inner.terminals.close_workspace(id).await;
        Ok(deleted)
    }

    /// After sessions are gone from the store: their attachment files (a failure is logged;
    /// the start-up sweep removes what is left).
    pub(super) async fn remove_attachments(&self, session_ids: &[String]) {
        let files = crate::files::attachments::AttachmentFiles::new(&self.inner.data_dir);
        for id in session_ids {
            if let Err(e) = files.remove_session(id).await {
                tracing::warn!(session.id = %id, error = %e, "cannot remove attachment files");
            }
        }
    }

    /// After a session is gone from the store: stop its reply (it has nowhere to go), tell the
    /// connections that had it open (and `origin`, who asked), and forget them as participants.
    pub(super) fn forget_session(&self, id: &str, origin: Option<crate::events::ConnId>) {
        self.chat().interrupt(id);
        let event = ServerEvent::SessionDeleted {
            session_id: id.to_owned(),
        };
        match origin {
            Some(conn) => self.hub().publish_to_session_and(id, conn, &event),
            None => {
                self.hub().publish(Audience::Session(id), &event);
            }
        }
        self.hub().drop_session(id);
    }
}

/// `~` and `~/x` → the home directory.
pub fn expand_home(path: &str) -> PathBuf {
    match (path.strip_prefix('~'), std::env::var("HOME")) {
        (Some(rest), Ok(home)) if rest.is_empty() || rest.starts_with('/') => {
            PathBuf::from(format!("{home}{rest}"))
        }
        _ => PathBuf::from(path),
    }
}

/// The directory of a new workspace, created if missing: the given path (expanded), or
/// `<data dir>/workspaces/<id>` for a virtual workspace without one.
async fn make_dir(input: &CreateWorkspace, data_dir: &Path, id: &str) -> Result<PathBuf, Error> {
    let dir = match &input.path {
        Some(p) => expand_home(p),
        None if input.is_virtual => data_dir.join("workspaces").join(id),
        None => {
            return Err(Error::Invalid(
                "Path is required for physical workspaces".into(),
            ));
        }
    };
    if !dir.is_absolute() {
        return Err(Error::Invalid(format!(
            "Workspace path must be absolute or start with ~ (got {:?})",
            dir.display().to_string()
        )));
    }
    match tokio::fs::metadata(&dir).await {
        Ok(m) if m.is_dir() => return Ok(dir),
        Ok(_) => {
            return Err(Error::Invalid(format!(
                "Workspace path {} exists but is not a directory",
                dir.display()
            )));
        }
        Err(_) => {}
    }
    tokio::fs::create_dir_all(&dir).await.map_err(|e| {
        Error::Invalid(format!(
            "Failed to create workspace directory {}: {e}",
            dir.display()
        ))
    })?;
    Ok(dir)
}

/// The additional paths that exist (expanded), in order, without duplicates.
async fn existing_paths(paths: &[String]) -> Vec<String> {
    let mut kept: Vec<String> = Vec::new();
    for p in paths {
        let full = expand_home(p);
        let text = full.display().to_string();
        if tokio::fs::metadata(&full).await.is_ok() && !kept.contains(&text) {
            kept.push(text);
        }
    }
    kept
}
