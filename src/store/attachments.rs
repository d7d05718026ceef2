//! Uploaded attachments (`attachments`, `PROTOCOL-AGENT.md` §12): one row per file, belonging
//! to a session and deleted with it. The bytes live on disk (`crate::files::attachments`); the
//! row holds what the wire needs and the access key of the public content route.

use super::error::is_foreign_key_violation;
use super::rows::{all, int, one, str};
use super::{Entity, Fail, Store, StoreError};

/// One uploaded file. `Debug` leaves the access key out.
#[derive(Clone, PartialEq)]
pub struct Attachment {
    /// `att_<uuid>`, chosen by the server.
    pub id: String,
    pub session_id: String,
    pub workspace_id: String,
    /// `image`, `video` or `file`.
    pub kind: String,
    /// The name the client gave (shown, never used as a path).
    pub filename: String,
    /// The type the client gave (checked against the bytes for images).
    pub mime_type: String,
    /// What the content route answers as `Content-Type` (sniffed from the bytes).
    pub content_type: String,
    pub size_bytes: i64,
    /// 32 hex characters; the credential of the content route.
    pub access_key: String,
    /// ISO time.
    pub created_at: String,
}

impl std::fmt::Debug for Attachment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Attachment")
            .field("id", &self.id)
            .field("session_id", &self.session_id)
            .field("kind", &self.kind)
            .field("mime_type", &self.mime_type)
            .field("size_bytes", &self.size_bytes)
            .finish_non_exhaustive()
    }
}

impl Attachment {
    /// The root-relative content URL without its key (the list route's form).
    pub fn content_path(&self) -> String {
        format!(
            "/api/sessions/{}/attachments/{}/content",
            self.session_id, self.id
        )
    }

    /// The content URL with its key, as parts and the upload reply carry it.
    pub fn content_url(&self) -> String {
        format!("{}?key={}", self.content_path(), self.access_key)
    }
}

const COLS: &str = "id, session_id, workspace_id, kind, filename, mime_type, content_type, \
    size_bytes, access_key, created_at";

fn from_row(r: &rusqlite::Row<'_>) -> Result<Attachment, Fail> {
    let s = |i| -> Result<String, Fail> { Ok(str(r, i)?.to_owned()) };
    Ok(Attachment {
        id: s(0)?,
        session_id: s(1)?,
        workspace_id: s(2)?,
        kind: s(3)?,
        filename: s(4)?,
        mime_type: s(5)?,
        content_type: s(6)?,
        size_bytes: int(r, 7)?,
        access_key: s(8)?,
        created_at: s(9)?,
    })
}

impl Store {
    /// Record an uploaded file. `NotFound(Session)` when its session is gone (deleted while
    /// the file was being received).
    pub async fn create_attachment(&self, a: &Attachment) -> Result<(), StoreError> {
        let a = a.clone();
        self.write(move |c, _| {
            let done = c
                .prepare_cached(&format!(
                    "INSERT INTO attachments ({COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
                ))?
                .execute((
                    &a.id,
                    &a.session_id,
                    &a.workspace_id,
                    &a.kind,
                    &a.filename,
                    &a.mime_type,
                    &a.content_type,
                    a.size_bytes,
                    &a.access_key,
                    &a.created_at,
                ))
                .map_err(Fail::from);
            match done {
                Ok(_) => Ok(()),
                Err(f) if is_foreign_key_violation(&f) => {
                    Err(Fail::Store(StoreError::NotFound(Entity::Session)))
                }
                Err(f) => Err(f),
            }
        })
        .await
    }

    /// The attachment with this id, whichever session it belongs to.
    pub async fn attachment(&self, id: &str) -> Result<Option<Attachment>, StoreError> {
        let id = id.to_owned();
        self.read(move |c| {
            one(
                &mut *c.prepare_cached(&format!("SELECT {COLS} FROM attachments WHERE id = ?1"))?,
                [id],
                from_row,
            )
        })
        .await
    }

    /// A session's attachments, newest first.
    pub async fn session_attachments(
        &self,
        session_id: &str,
    ) -> Result<Vec<Attachment>, StoreError> {
        let sid = session_id.to_owned();
        self.read(move |c| {
            all(
                &mut *c.prepare_cached(&format!(
                    "SELECT {COLS} FROM attachments WHERE session_id = ?1 \
                     ORDER BY created_at DESC, rowid DESC"
                ))?,
                [sid],
                from_row,
            )
        })
        .await
    }

    /// The ids of the sessions that have attachments (for the sweep of orphaned folders).
    pub async fn sessions_with_attachments(&self) -> Result<Vec<String>, StoreError> {
        self.read(move |c| {
            all(
                &mut *c.prepare_cached("SELECT DISTINCT session_id FROM attachments")?,
                [],
                |r| Ok(str(r, 0)?.to_owned()),
            )
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Scope;
    use crate::store::testing::{session, store};

    fn sample(id: &str, sid: &str, at: &str) -> Attachment {
        Attachment {
            id: id.into(),
            session_id: sid.into(),
            workspace_id: "w".into(),
            kind: "file".into(),
            filename: "a.txt".into(),
            mime_type: "text/plain".into(),
            content_type: "text/plain;charset=utf-8".into(),
            size_bytes: 3,
            access_key: "00112233445566778899aabbccddeeff".into(),
            created_at: at.into(),
        }
    }

    #[tokio::test]
    async fn attachments_are_kept_listed_newest_first_and_go_with_their_session() {
        let (s, _dir) = store().await;
        let sid = session(&s).await;
        s.create_attachment(&sample("att_1", &sid, "2026-01-01T00:00:00.000Z"))
            .await
            .unwrap();
        s.create_attachment(&sample("att_2", &sid, "2026-01-02T00:00:00.000Z"))
            .await
            .unwrap();
        let got = s.attachment("att_1").await.unwrap().unwrap();
        assert_eq!(got, sample("att_1", &sid, "2026-01-01T00:00:00.000Z"));
        let ids: Vec<String> = s
            .session_attachments(&sid)
            .await
            .unwrap()
            .into_iter()
            .map(|a| a.id)
            .collect();
        assert_eq!(ids, ["att_2", "att_1"]);
        assert_eq!(
            s.sessions_with_attachments().await.unwrap(),
            vec![sid.clone()]
        );
        s.delete_session(&Scope::All, &sid).await.unwrap();
        assert!(s.attachment("att_1").await.unwrap().is_none());
    }

    #[tokio::test]
    async fn an_attachment_of_a_missing_session_is_refused_as_not_found() {
        let (s, _dir) = store().await;
        let e = s
            .create_attachment(&sample("att_x", "nope", "2026-01-01T00:00:00.000Z"))
            .await
            .unwrap_err();
        assert!(matches!(e, StoreError::NotFound(Entity::Session)), "{e}");
    }

    #[test]
    fn debug_output_leaves_the_access_key_out() {
        let a = sample("att_1", "s", "t");
        assert!(!format!("{a:?}").contains(&a.access_key));
    }
}
