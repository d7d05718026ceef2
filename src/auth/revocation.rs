//! How revocation reaches what is already open.
//!
//! - [`credential_of`]: the [`Credential`] a WebSocket was opened with, kept by the hub so a
//!   revocation closes exactly the connections it concerns.
//! - [`Marker`]: `jean2 users|apps|keys` run in another process and change the database behind
//!   the server's back. After each change that takes rights away they replace a small file next
//!   to the database ([`mark_changed`]); the server compares that file's identity (inode and
//!   times, one `stat`) before it trusts a cached answer, so the next request after the command
//!   returns is checked against the database, and its WebSocket watcher closes the sockets the
//!   change concerns within a second.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use axum::http::HeaderMap;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::Principal;
use super::layer::{API_KEY_HEADER, Presented, presented, subprotocol_token};
use super::oauth::jwt::Claims;
use super::oauth::secrets;
use crate::events::Credential;

/// The file `jean2 users|apps|keys` replace after a change that takes rights away.
pub fn marker_path(database: &Path) -> PathBuf {
    let mut name = database.as_os_str().to_owned();
    name.push(".revocations");
    PathBuf::from(name)
}

/// Tell running servers that rights were taken away in the database at `database`: write a new
/// marker file and rename it over the old one (a new inode each time, so no change is missed
/// even within one tick of the file system's clock).
pub fn mark_changed(database: &Path) -> std::io::Result<()> {
    let path = marker_path(database);
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(format!(".{}", std::process::id()));
    let tmp = PathBuf::from(tmp);
    // On PostgreSQL no SQLite file is there to have made the folder.
    if let Some(dir) = path.parent() {
        std::os::unix::fs::DirBuilderExt::mode(std::fs::DirBuilder::new().recursive(true), 0o700)
            .create(dir)?;
    }
    std::fs::write(&tmp, crate::time::now_iso())?;
    std::fs::rename(&tmp, &path)
}

/// The marker file as one observer last saw it.
pub struct Marker {
    path: PathBuf,
    /// A digest of the file's identity when last looked at (0: not looked at yet).
    seen: AtomicU64,
}

impl Marker {
    /// An observer of the marker of `database`, taking the file as it is now as seen.
    pub fn new(database: &Path) -> Self {
        let marker = Marker {
            path: marker_path(database),
            seen: AtomicU64::new(0),
        };
        marker.seen.store(marker.identity(), Ordering::Relaxed);
        marker
    }

    /// The file's new identity if it changed since [`Marker::seen`] was last told (one
    /// `stat`). Whoever acts on a change calls `seen` only when done, so a concurrent caller
    /// never takes the change as handled before it is.
    pub fn changed(&self) -> Option<u64> {
        let now = self.identity();
        (self.seen.load(Ordering::Acquire) != now).then_some(now)
    }

    /// The change with this identity has been acted on.
    pub fn seen(&self, identity: u64) {
        self.seen.store(identity, Ordering::Release);
    }

    fn identity(&self) -> u64 {
        use std::os::unix::fs::MetadataExt as _;
        match std::fs::metadata(&self.path) {
            Ok(m) => {
                let id = (m.ino().wrapping_mul(0x9E37_79B9_7F4A_7C15))
                    ^ (m.mtime() as u64).rotate_left(32)
                    ^ (m.mtime_nsec() as u64).wrapping_mul(0xC2B2_AE3D_27D4_EB4F)
                    ^ (m.ctime_nsec() as u64).rotate_left(17)
                    ^ m.dev();
                id.max(2)
            }
            Err(_) => 1,
        }
    }
}

/// The credential behind `principal`, read again from the request that was just authenticated
/// with it (`headers` and `query` of the WebSocket upgrade).
pub fn credential_of(
    principal: &Principal,
    headers: &HeaderMap,
    query: Option<&str>,
) -> Credential {
    match principal {
        Principal::Anonymous => Credential::Open,
        Principal::Owner => Credential::SharedToken,
        Principal::App { app_id, .. } => {
            let key = headers
                .get(API_KEY_HEADER)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
                .or_else(|| bearer(headers, query).filter(|t| secrets::is_api_key(t)))
                .unwrap_or_default();
            Credential::ApiKey {
                app_id: app_id.as_str().into(),
                key_hash: secrets::hash(&key).into(),
            }
        }
        Principal::User {
            user_id, app_id, ..
        } => {
            let claims = bearer(headers, query).and_then(|t| unverified_claims(&t));
            let (family, token_id, exp) = claims.map(|c| (c.sid, c.jti, c.exp)).unwrap_or_default();
            Credential::User {
                user_id: user_id.as_str().into(),
                app_id: app_id.as_str().into(),
                family: family.into(),
                token_id: token_id.into(),
                expires_at_ms: exp.saturating_mul(1000),
            }
        }
    }
}

/// The bearer credential of a WebSocket upgrade, wherever it came from.
fn bearer(headers: &HeaderMap, query: Option<&str>) -> Option<String> {
    match presented(headers, query) {
        Presented::Header(t) => t.map(str::to_owned),
        Presented::Query(t) => Some(t),
        Presented::None => subprotocol_token(headers),
    }
}

/// The claims of a token the auth layer verified a moment ago (its signature is not checked
/// again here).
fn unverified_claims(token: &str) -> Option<Claims> {
    let payload = token.split('.').nth(1)?;
    let bytes = URL_SAFE_NO_PAD.decode(payload).ok()?;
    serde_json::from_slice(&bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_marker_notices_every_replacement() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("agent.db");
        let marker = Marker::new(&db);
        assert_eq!(marker.changed(), None, "no file yet, nothing changed");
        mark_changed(&db).unwrap();
        let id = marker.changed().expect("changed");
        assert_eq!(marker.changed(), Some(id), "still changed until seen");
        marker.seen(id);
        assert_eq!(marker.changed(), None);
        mark_changed(&db).unwrap();
        assert!(
            marker.changed().is_some(),
            "a second change at once is still a change"
        );
        let late = Marker::new(&db);
        assert_eq!(
            late.changed(),
            None,
            "a new observer starts from the file as it is"
        );
    }

    #[test]
    fn a_user_credential_carries_the_token_family_and_expiry() {
        let claims = serde_json::json!({"iss": "i", "sub": "u1", "aud": "i", "exp": 1_700_000_000,
            "iat": 1, "jti": "t1", "client_id": "a1", "scope": "read", "sid": "f1"});
        let token = format!(
            "h.{}.s",
            URL_SAFE_NO_PAD.encode(claims.to_string().as_bytes())
        );
        let mut headers = HeaderMap::new();
        headers.insert(
            axum::http::header::AUTHORIZATION,
            format!("Bearer {token}").parse().unwrap(),
        );
        let user = Principal::User {
            user_id: "u1".into(),
            app_id: "a1".into(),
            scopes: vec![],
        };
        assert_eq!(
            credential_of(&user, &headers, None),
            Credential::User {
                user_id: "u1".into(),
                app_id: "a1".into(),
                family: "f1".into(),
                token_id: "t1".into(),
                expires_at_ms: 1_700_000_000_000,
            }
        );
        let key = secrets::new_api_key();
        let app = Principal::App {
            app_id: "a1".into(),
            scopes: vec![],
        };
        let query = format!("token={key}");
        assert_eq!(
            credential_of(&app, &HeaderMap::new(), Some(&query)),
            Credential::ApiKey {
                app_id: "a1".into(),
                key_hash: secrets::hash(&key).into(),
            }
        );
    }
}
