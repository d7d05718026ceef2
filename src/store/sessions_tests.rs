//! Unit tests of the session store: JSON shape, listing order and pages, scope, the lock.

use serde_json::{Map, json};

use super::*;
use crate::store::testing::store;
use crate::store::workspaces::NewWorkspace;

async fn workspace(store: &Store, scope: &Scope, id: &str) {
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
async fn an_owner_sees_only_sessions_of_its_workspaces() {
    let (store, _d) = store().await;
    let bob = Scope::Owner("bob".into());
    workspace(&store, &Scope::All, "w").await;
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
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store
            .create_session(&bob, NewSession::new("w"), "2026-01-01T00:00:01.000Z")
            .await,
        Err(StoreError::NotFound)
    ));
    assert!(
        store
            .list_sessions(&bob, &SessionQuery::default())
            .await
            .unwrap()
            .sessions
            .is_empty()
    );
}

#[tokio::test]
async fn a_second_store_on_the_same_file_is_refused_until_the_first_closes() {
    let (first, dir) = store().await;
    let err = Store::open(&dir.path().join("t.db")).await.unwrap_err();
    assert!(matches!(err, StoreError::Locked { .. }), "{err:?}");
    assert!(err.to_string().contains("another jean2 server"), "{err}");
    let beside = Store::open_beside_server(&dir.path().join("t.db")).await;
    assert!(
        beside.is_ok(),
        "an admin command may open it beside the server: {beside:?}"
    );
    first.close().await;
    let again = Store::open(&dir.path().join("t.db")).await;
    assert!(again.is_ok(), "{again:?}");
}
