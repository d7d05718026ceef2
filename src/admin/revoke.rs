//! The admin commands that take rights away (`users disable`, `apps revoke`, `keys revoke`;
//! `users set-password` too): each changes the database, then replaces the revocation marker
//! next to it ([`crate::auth::revocation`]) so that a running server holds the change from its
//! next request on and closes the WebSockets it concerns.

use std::path::Path;

use super::not_found;
use crate::auth::revocation;
use crate::store::Store;
use crate::store::users::User;

/// Give a user's agent host access, or take it away. No marker is needed: a turn reads it from
/// the database as it starts.
pub(super) async fn set_host(store: &Store, email: &str, on: bool) -> anyhow::Result<User> {
    store
        .set_user_host_access(email, on)
        .await
        .map_err(|e| not_found(e, "user", email))
}

/// Disable (or enable) a user. Disabling ends their access at once (see the module comment).
pub async fn set_user_disabled(
    store: &Store,
    database: &Path,
    email: &str,
    disabled: bool,
) -> anyhow::Result<User> {
    let user = store
        .set_user_disabled(email, disabled)
        .await
        .map_err(|e| not_found(e, "user", email))?;
    tell_servers(database);
    Ok(user)
}

/// Revoke an application: its keys and its users' tokens stop working at once.
pub async fn revoke_app(store: &Store, database: &Path, id: &str) -> anyhow::Result<()> {
    store
        .revoke_app(id, crate::time::now_ms())
        .await
        .map_err(|e| not_found(e, "application", id))?;
    tell_servers(database);
    Ok(())
}

/// Revoke one API key (by its id): it stops working at once.
pub async fn revoke_key(store: &Store, database: &Path, key_id: &str) -> anyhow::Result<()> {
    store
        .revoke_api_key(key_id)
        .await
        .map_err(|e| not_found(e, "key", key_id))?;
    tell_servers(database);
    Ok(())
}

/// Replace the revocation marker so a running server notices the change before its next
/// cached answer. If that fails, say what it means: the change still holds, a little later.
pub(super) fn tell_servers(database: &Path) {
    if let Err(e) = revocation::mark_changed(database) {
        eprintln!(
            "warning: cannot write {} ({e}); a running server notices this change within its cache time (10 s) instead of at once",
            revocation::marker_path(database).display()
        );
    }
}
