//! Unit tests of the workspace store: scope, field-wise updates, the JSON listing.

use super::*;
use crate::store::testing::store;

fn new_ws(id: &str) -> NewWorkspace {
    NewWorkspace {
        id: id.into(),
        name: "W".into(),
        path: "/tmp/w".into(),
        is_virtual: true,
        additional_paths: vec!["/a".into(), "/b".into()],
        settings: Map::new(),
    }
}

#[tokio::test]
async fn owner_scope_sees_only_its_own_workspaces() {
    let (store, _dir) = store().await;
    let alice = Scope::Owner("alice".into());
    store
        .create_workspace(&Scope::All, new_ws("w1"), "2026-01-01T00:00:00.000Z")
        .await
        .unwrap();
    let w2 = store
        .create_workspace(&alice, new_ws("w2"), "2026-01-01T00:00:01.000Z")
        .await
        .unwrap();
    assert_eq!(w2.owner_id.as_deref(), Some("alice"));
    assert_eq!(store.list_workspaces(&Scope::All).await.unwrap().len(), 2);
    let mine = store.list_workspaces(&alice).await.unwrap();
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0].additional_paths, vec!["/a", "/b"]);
    assert!(matches!(
        store.get_workspace(&alice, "w1").await,
        Err(StoreError::NotFound(Entity::Workspace))
    ));
    assert!(matches!(
        store.delete_workspace(&alice, "w1").await,
        Err(StoreError::NotFound(Entity::Workspace))
    ));
    assert_eq!(
        store.workspace_owner("w2").await.unwrap().as_deref(),
        Some("alice")
    );
}

#[tokio::test]
async fn the_json_listing_is_byte_for_byte_the_serialized_workspaces() {
    let (store, _dir) = store().await;
    let mut odd = new_ws("w1");
    odd.name = "Ünïcode \"quoted\" \\ name\n".into();
    odd.settings =
        serde_json::json!({"z": 1, "a": {"nested": [1, 2.5, null]}, "autoApproveSeverity": "low"})
            .as_object()
            .cloned()
            .unwrap();
    store
        .create_workspace(&Scope::All, odd, "2026-01-01T00:00:00.000Z")
        .await
        .unwrap();
    let mut plain = new_ws("w2");
    plain.additional_paths.clear();
    store
        .create_workspace(&Scope::All, plain, "2026-01-01T00:00:01.000Z")
        .await
        .unwrap();
    for scope in [Scope::All, Scope::Owner("nobody".into())] {
        let owned = serde_json::to_vec(&store.list_workspaces(&scope).await.unwrap()).unwrap();
        let straight = store.list_workspaces_json(&scope).await.unwrap();
        assert_eq!(
            String::from_utf8(straight.json).unwrap(),
            String::from_utf8(owned).unwrap(),
            "{scope:?}"
        );
    }
}

#[tokio::test]
async fn an_update_writes_only_the_fields_it_is_given() {
    let (store, _dir) = store().await;
    store
        .create_workspace(&Scope::All, new_ws("w"), "2026-01-01T00:00:00.000Z")
        .await
        .unwrap();
    let mut settings = Map::new();
    settings.insert("k".into(), "v".into());
    let patch = WorkspacePatch {
        settings: Some(settings.clone()),
        ..WorkspacePatch::default()
    };
    let ws = store
        .update_workspace(&Scope::All, "w", patch, "2026-01-02T00:00:00.000Z")
        .await
        .unwrap();
    assert_eq!(
        (ws.name.as_str(), &ws.settings, ws.additional_paths.len()),
        ("W", &settings, 2)
    );
    assert_eq!(ws.updated_at, "2026-01-02T00:00:00.000Z");
    let patch = WorkspacePatch {
        name: Some("Renamed".into()),
        additional_paths: Some(vec!["/c".into()]),
        ..WorkspacePatch::default()
    };
    let ws = store
        .update_workspace(&Scope::All, "w", patch, "2026-01-03T00:00:00.000Z")
        .await
        .unwrap();
    assert_eq!(
        (ws.name.as_str(), &ws.settings, ws.additional_paths),
        ("Renamed", &settings, vec!["/c".to_owned()])
    );
    let err = store
        .update_workspace(
            &Scope::Owner("eve".into()),
            "w",
            WorkspacePatch::default(),
            "2026-01-04T00:00:00.000Z",
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::NotFound(Entity::Workspace)),
        "{err:?}"
    );
}

/// The workspace list as the route reads it: cached while current, else read and kept.
async fn listed(store: &Store) -> bytes::Bytes {
    let key = crate::store::PageKey::workspaces(None);
    let generation = store.page_generation(&key);
    if let Some(body) = store.cached_page(&key) {
        return body;
    }
    let body = bytes::Bytes::from(store.list_workspaces_json(&Scope::All).await.unwrap().json);
    store.keep_page(key, generation, body.clone());
    body
}

#[tokio::test]
async fn no_workspace_write_leaves_the_cached_workspace_list_stale() {
    let (store, _dir) = store().await;
    let now = "2026-01-02T00:00:00.000Z";
    for step in 0..4 {
        let cached = listed(&store).await;
        assert_eq!(cached, listed(&store).await, "served from the cache");
        let label = match step {
            0 => {
                store
                    .create_workspace(&Scope::All, new_ws("w"), now)
                    .await
                    .unwrap();
                "create_workspace"
            }
            1 => {
                let patch = WorkspacePatch {
                    name: Some("Renamed".into()),
                    ..WorkspacePatch::default()
                };
                store
                    .update_workspace(&Scope::All, "w", patch, now)
                    .await
                    .unwrap();
                "update_workspace (name)"
            }
            2 => {
                let patch = WorkspacePatch {
                    additional_paths: Some(vec!["/z".into()]),
                    ..WorkspacePatch::default()
                };
                store
                    .update_workspace(&Scope::All, "w", patch, now)
                    .await
                    .unwrap();
                "update_workspace (paths)"
            }
            _ => {
                store.delete_workspace(&Scope::All, "w").await.unwrap();
                "delete_workspace"
            }
        };
        let after = listed(&store).await;
        assert_ne!(after, cached, "{label}: the list changed");
        let fresh = store.list_workspaces_json(&Scope::All).await.unwrap().json;
        assert_eq!(after, fresh, "{label}: the cache is not stale");
    }
}
