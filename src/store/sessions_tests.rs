//! Unit tests of the session store: JSON shape, listing order and pages, scope, field-wise and
//! conditional writes.

use serde_json::{Map, json};

use super::*;
use crate::store::testing::store;
use crate::store::workspaces::NewWorkspace;

pub(super) async fn workspace(store: &Store, scope: &Scope, id: &str) {
    let ws = NewWorkspace {
        id: id.into(),
        name: "W".into(),
        path: "/tmp/w".into(),
        is_virtual: true,
        additional_paths: vec![],
        settings: Map::new(),
    };
    store
        .create_workspace(scope, ws, "2026-01-01T00:00:00.000Z")
        .await
        .unwrap();
}

#[tokio::test]
async fn a_new_session_has_every_field_of_the_protocol() {
    let (store, _d) = store().await;
    workspace(&store, &Scope::All, "w").await;
    let mut new = NewSession::new("w");
    new.preconfig_id = Some("general".into());
    let s = store
        .create_session(&Scope::All, new, "2026-11-22T14:37:05.123Z")
        .await
        .unwrap();
    let t = "2026-11-22T14:37:05.123Z";
    assert_eq!(
        serde_json::to_value(&s).unwrap(),
        json!({"id": s.id, "preconfigId":"general","workspaceId":"w","title":"New Session","status":"active",
          "createdAt":t,"updatedAt":t,"metadata":null,
          "selectedModel":null,"selectedProvider":null,"selectedVariant":null,
          "promptTokens":0,"completionTokens":0,"totalTokens":0,"cacheReadTokens":0,"cacheWriteTokens":0,"noCacheTokens":0,
          "parentId":null,"agentName":null,"subagentStatus":null,"runningAt":null,"compacting":false,"tags":[],
          "autoApproveSeverity":"low","agentId":null})
    );
    assert_eq!(s.owner_id, None);
}

#[tokio::test]
async fn a_taken_id_is_a_conflict_and_an_unknown_workspace_not_found() {
    let (store, _d) = store().await;
    workspace(&store, &Scope::All, "w").await;
    let mut new = NewSession::new("w");
    new.id = "s".into();
    let now = "2026-01-01T00:00:00.000Z";
    store
        .create_session(&Scope::All, new.clone(), now)
        .await
        .unwrap();
    let err = store
        .create_session(&Scope::All, new, now)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    let err = store
        .create_session(&Scope::All, NewSession::new("nope"), now)
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::NotFound(Entity::Workspace)),
        "{err:?}"
    );
}

#[tokio::test]
async fn listing_is_newest_first_and_pages_without_gaps() {
    let (store, _d) = store().await;
    workspace(&store, &Scope::All, "w").await;
    // Five sessions, two sharing an updatedAt (ties broken by id DESC).
    for (id, at) in [
        ("a", "01"),
        ("b", "02"),
        ("c", "02"),
        ("d", "03"),
        ("e", "04"),
    ] {
        let mut n = NewSession::new("w");
        n.id = id.into();
        store
            .create_session(&Scope::All, n, &format!("2026-01-01T00:00:{at}.000Z"))
            .await
            .unwrap();
    }
    let mut q = SessionQuery {
        workspace_id: Some("w".into()),
        limit: Some(2),
        ..Default::default()
    };
    let mut seen = Vec::new();
    loop {
        let page = store.list_sessions(&Scope::All, &q).await.unwrap();
        let json = store.list_sessions_json(&Scope::All, &q).await.unwrap();
        assert_eq!(json.next, page.next, "both listings page alike");
        seen.extend(page.sessions.iter().map(|s| s.id.clone()));
        match page.next {
            Some(next) => q.after = Some(next),
            None => break,
        }
    }
    assert_eq!(seen, vec!["e", "d", "c", "b", "a"]);
}

#[tokio::test]
async fn root_only_appends_the_children_of_the_page() {
    let (store, _d) = store().await;
    workspace(&store, &Scope::All, "w").await;
    let root = store
        .create_session(
            &Scope::All,
            NewSession::new("w"),
            "2026-01-01T00:00:01.000Z",
        )
        .await
        .unwrap();
    let mut child = NewSession::new("w");
    child.parent_id = Some(root.id.clone());
    let child = store
        .create_session(&Scope::All, child, "2026-01-01T00:00:02.000Z")
        .await
        .unwrap();
    let q = SessionQuery {
        root_only: true,
        ..Default::default()
    };
    let ids: Vec<String> = store
        .list_sessions(&Scope::All, &q)
        .await
        .unwrap()
        .sessions
        .into_iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(ids, vec![root.id, child.id]);
}

#[tokio::test]
async fn the_json_listing_is_byte_for_byte_the_serialized_sessions() {
    let (store, _d) = store().await;
    workspace(&store, &Scope::All, "w").await;
    let mut odd = NewSession::new("w");
    odd.title = "Ünïcode \"quoted\" \\ title\n\u{1}".into();
    odd.metadata = Some(json!({"z": [1, 2.5, null], "a": {"b": "c"}}));
    let odd = store
        .create_session(&Scope::All, odd, "2026-01-01T00:00:01.000Z")
        .await
        .unwrap();
    let patch = SessionPatch {
        tags: Some(vec!["x".into(), "y\"z".into()]),
        selected_model: Some(Some("m".into())),
        ..Default::default()
    };
    store
        .update_session(&Scope::All, &odd.id, patch, "2026-01-01T00:00:03.000Z")
        .await
        .unwrap();
    let mut child = NewSession::new("w");
    child.parent_id = Some(odd.id.clone());
    store
        .create_session(&Scope::All, child, "2026-01-01T00:00:02.000Z")
        .await
        .unwrap();
    for root_only in [false, true] {
        let q = SessionQuery {
            workspace_id: Some("w".into()),
            root_only,
            limit: Some(10),
            ..Default::default()
        };
        let owned = store.list_sessions(&Scope::All, &q).await.unwrap();
        let straight = store.list_sessions_json(&Scope::All, &q).await.unwrap();
        assert_eq!(straight.len, owned.sessions.len());
        assert_eq!(
            String::from_utf8(straight.json).unwrap(),
            serde_json::to_string(&owned.sessions).unwrap(),
            "root_only {root_only}"
        );
    }
}

#[tokio::test]
async fn an_owner_sees_only_sessions_of_its_workspaces() {
    let (store, _d) = store().await;
    let bob = Scope::Owner("bob".into());
    workspace(&store, &Scope::All, "w").await;
    workspace(&store, &bob, "wb").await;
    let s = store
        .create_session(
            &Scope::All,
            NewSession::new("w"),
            "2026-01-01T00:00:01.000Z",
        )
        .await
        .unwrap();
    assert!(matches!(
        store.get_session(&bob, &s.id).await,
        Err(StoreError::NotFound(Entity::Session))
    ));
    assert!(matches!(
        store
            .create_session(&bob, NewSession::new("w"), "2026-01-01T00:00:01.000Z")
            .await,
        Err(StoreError::NotFound(Entity::Workspace))
    ));
    let mine = store
        .create_session(&bob, NewSession::new("wb"), "2026-01-01T00:00:01.000Z")
        .await
        .unwrap();
    assert_eq!(
        mine.owner_id.as_deref(),
        Some("bob"),
        "the owner is read along"
    );
    let listed = store
        .list_sessions(&bob, &SessionQuery::default())
        .await
        .unwrap()
        .sessions;
    assert_eq!(listed, vec![mine]);
    let json = store
        .list_sessions_json(&bob, &SessionQuery::default())
        .await
        .unwrap();
    assert_eq!(json.len, 1);
}

#[path = "sessions_writes_tests.rs"]
mod writes;
