//! Unit tests of session writes: field-wise updates under concurrency, the conditional title
//! write, and the sidebar page cache seeing every kind of write.

use bytes::Bytes;

use super::super::*;
use super::workspace;
use crate::store::PageKey;
use crate::store::sessions::TokenTotals;
use crate::store::testing::store;

const T0: &str = "2026-01-01T00:00:00.000Z";

#[tokio::test]
async fn concurrent_updates_of_different_fields_both_survive() {
    let (store, _d) = store().await;
    workspace(&store, &Scope::All, "w").await;
    let s = store
        .create_session(&Scope::All, NewSession::new("w"), T0)
        .await
        .unwrap();
    for round in 0..50 {
        let title = format!("title {round}");
        let model = format!("model {round}");
        let rename = SessionPatch {
            title: Some(title.clone()),
            ..Default::default()
        };
        let pick = SessionPatch {
            selected_model: Some(Some(model.clone())),
            ..Default::default()
        };
        let (a, b) = tokio::join!(
            store.update_session(&Scope::All, &s.id, rename, T0),
            store.update_session(&Scope::All, &s.id, pick, T0),
        );
        a.unwrap();
        b.unwrap();
        let now = store.get_session(&Scope::All, &s.id).await.unwrap();
        assert_eq!(
            (now.title.as_str(), now.selected_model.as_deref()),
            (title.as_str(), Some(model.as_str())),
            "round {round}"
        );
    }
}

#[tokio::test]
async fn an_update_clears_only_what_it_is_told_to_clear() {
    let (store, _d) = store().await;
    workspace(&store, &Scope::All, "w").await;
    let mut new = NewSession::new("w");
    new.selected_model = Some("m".into());
    new.selected_provider = Some("p".into());
    let s = store.create_session(&Scope::All, new, T0).await.unwrap();
    let patch = SessionPatch {
        selected_model: Some(None),
        status: Some(SessionStatus::Closed),
        ..Default::default()
    };
    let after = store
        .update_session(&Scope::All, &s.id, patch, "2026-01-02T00:00:00.000Z")
        .await
        .unwrap();
    assert_eq!(after.selected_model, None);
    assert_eq!(after.selected_provider.as_deref(), Some("p"));
    assert_eq!(after.status, SessionStatus::Closed);
    assert_eq!(after.auto_approve_severity.as_deref(), Some("low"));
    assert_eq!(after.updated_at, "2026-01-02T00:00:00.000Z");
    let err = store
        .update_session(&Scope::All, "nope", SessionPatch::default(), T0)
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::NotFound(Entity::Session)),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_generated_title_replaces_only_a_default_title() {
    let (store, _d) = store().await;
    workspace(&store, &Scope::All, "w").await;
    for default in ["New Session", " new session ", "NEW", ""] {
        let mut new = NewSession::new("w");
        new.title = default.into();
        let s = store.create_session(&Scope::All, new, T0).await.unwrap();
        let set = store.set_title_if_default(&s.id, "Trip to Lyon", T0).await;
        assert_eq!(
            set.unwrap().map(|s| s.title).as_deref(),
            Some("Trip to Lyon"),
            "{default:?}"
        );
        // Now that it has a real title, a second generated one does not replace it.
        let again = store.set_title_if_default(&s.id, "Other", T0).await;
        assert_eq!(again.unwrap(), None, "{default:?}");
    }
    let mut named = NewSession::new("w");
    named.title = "My chat".into();
    let s = store.create_session(&Scope::All, named, T0).await.unwrap();
    assert_eq!(
        store.set_title_if_default(&s.id, "X", T0).await.unwrap(),
        None
    );
    assert_eq!(
        store.set_title_if_default("gone", "X", T0).await.unwrap(),
        None
    );
}

/// The first sidebar page of `w`, read as the list route reads it: from the cache when it is
/// current, else from the store, then kept.
async fn sidebar(store: &Store) -> Bytes {
    let key = PageKey::sessions(None, "w", "first");
    let generation = store.page_generation(&key);
    if let Some(body) = store.cached_page(&key) {
        return body;
    }
    let q = SessionQuery {
        workspace_id: Some("w".into()),
        root_only: true,
        limit: Some(100),
        ..Default::default()
    };
    let body = Bytes::from(
        store
            .list_sessions_json(&Scope::All, &q)
            .await
            .unwrap()
            .json,
    );
    store.keep_page(key, generation, body.clone());
    body
}

/// The same page straight from the database.
async fn fresh(store: &Store) -> Bytes {
    let q = SessionQuery {
        workspace_id: Some("w".into()),
        root_only: true,
        limit: Some(100),
        ..Default::default()
    };
    Bytes::from(
        store
            .list_sessions_json(&Scope::All, &q)
            .await
            .unwrap()
            .json,
    )
}

#[tokio::test]
async fn no_kind_of_write_leaves_the_cached_sidebar_page_stale() {
    let (store, _d) = store().await;
    workspace(&store, &Scope::All, "w").await;
    let mut ids = Vec::new();
    for i in 0..3 {
        let s = store
            .create_session(
                &Scope::All,
                NewSession::new("w"),
                &format!("2026-01-01T00:00:0{i}.000Z"),
            )
            .await
            .unwrap();
        ids.push(s.id);
    }
    let all = Scope::All;
    for step in 0..8 {
        let cached = sidebar(&store).await;
        assert_eq!(cached, sidebar(&store).await, "served from the cache");
        let now = format!("2026-01-02T00:00:{step:02}.000Z");
        let label = match step {
            0 => {
                let new = NewSession::new("w");
                store.create_session(&all, new, &now).await.unwrap();
                "create_session"
            }
            1 => {
                let p = SessionPatch {
                    title: Some("Renamed".into()),
                    ..Default::default()
                };
                store.update_session(&all, &ids[0], p, &now).await.unwrap();
                "update_session"
            }
            2 => {
                let set = store.set_title_if_default(&ids[1], "Generated", &now);
                assert!(set.await.unwrap().is_some());
                "set_title_if_default"
            }
            3 => {
                store.set_running(&ids[2], Some(&now), &now).await.unwrap();
                "set_running"
            }
            4 => {
                let t = TokenTotals {
                    prompt: 5,
                    ..Default::default()
                };
                store.set_session_tokens(&ids[0], t, &now).await.unwrap();
                "set_session_tokens"
            }
            5 => {
                store.delete_session(&all, &ids[1]).await.unwrap();
                "delete_session"
            }
            6 => {
                let mut child = NewSession::new("w");
                child.parent_id = Some(ids[0].clone());
                store.create_session(&all, child, &now).await.unwrap();
                "create a child session"
            }
            _ => {
                store.delete_workspace(&all, "w").await.unwrap();
                "delete_workspace"
            }
        };
        let after = sidebar(&store).await;
        assert_ne!(after, cached, "{label}: the page changed");
        assert_eq!(
            after,
            fresh(&store).await,
            "{label}: the cache is not stale"
        );
    }
}
