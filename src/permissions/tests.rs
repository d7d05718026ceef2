//! Unit tests of the permission core: severities, grants, and the ask round trip.

use super::*;
use crate::store::Scope;
use crate::tools::{Action, Intent, Resource, Target};

fn spec(risk: Risk, target: &str, scopes: &[GrantScope]) -> AskSpec {
    AskSpec {
        question: format!("Read {target}?"),
        description: None,
        risk,
        resource: Resource::File,
        action: Action::Read,
        paths: vec![target.to_owned()],
        patterns: vec![format!("file:{target}")],
        duration: GrantScope::Session,
        metadata: serde_json::Map::new(),
        intents: vec![Intent::new(
            Resource::File,
            Action::Read,
            vec![Target::exact(target)],
            scopes,
        )],
        allowed_scopes: scopes.to_vec(),
    }
}

fn cx<'a>(auto: Option<&'a str>) -> AskContext<'a> {
    AskContext {
        root_session_id: "s",
        workspace_id: "w",
        auto_approve: auto,
        tool_call_id: "call_1",
        tool_name: "read-file",
    }
}

const ALL: &[GrantScope] = &[GrantScope::Once, GrantScope::Session, GrantScope::Workspace];

fn later() -> Instant {
    Instant::now() + Duration::from_secs(60)
}

#[test]
fn severities_approve_up_to_their_level_and_never_critical() {
    assert!(auto_approved(Some("low"), Risk::Low));
    assert!(!auto_approved(Some("low"), Risk::Medium));
    assert!(auto_approved(Some("high"), Risk::High));
    assert!(!auto_approved(Some("high"), Risk::Critical));
    assert!(!auto_approved(Some("off"), Risk::None));
    assert!(!auto_approved(None, Risk::None));
}

/// Start an ask in the background; returns the decision's handle and the `ask.request` frame.
async fn ask(
    p: &Permissions,
    hub_rx: &mut crate::events::hub::Registration,
    spec: AskSpec,
    deadline: Instant,
    cancel: CancellationToken,
) -> (tokio::task::JoinHandle<Decision>, Value) {
    let p2 = p.clone();
    let handle = tokio::spawn(async move { p2.decide(&cx(None), &spec, deadline, &cancel).await });
    let frame = hub_rx.rx.recv().await.expect("ask.request");
    let v: Value = serde_json::from_str(&frame).unwrap();
    assert_eq!(v["type"], "ask.request");
    (handle, v)
}

fn participant(hub: &Hub) -> crate::events::hub::Registration {
    let reg = hub.register(Scope::All);
    hub.join_session(reg.id, "s");
    reg
}

#[tokio::test]
async fn an_answer_reaches_the_tool_and_a_session_grant_covers_the_next_call() {
    let hub = Hub::new();
    let p = Permissions::new(hub.clone());
    let mut conn = participant(&hub);
    let (handle, req) = ask(
        &p,
        &mut conn,
        spec(Risk::Medium, "/x", ALL),
        later(),
        CancellationToken::new(),
    )
    .await;
    assert_eq!(req["toolCallId"], "call_1");
    assert_eq!(req["ask"]["type"], "permission");
    let rid = req["requestId"].as_str().unwrap().to_owned();
    assert_eq!(p.pending_for("s").len(), 1);
    assert!(p.answer(
        Some(&rid),
        "call_1",
        &json!({"type":"permission","grant":"session"})
    ));
    assert_eq!(handle.await.unwrap(), Decision::Approved);
    assert!(p.pending_for("s").is_empty());
    assert!(
        !p.answer(
            Some(&rid),
            "call_1",
            &json!({"type":"permission","grant":"once"})
        ),
        "answered once"
    );
    let (c, sp, cancel) = (
        cx(None),
        spec(Risk::Medium, "/x", ALL),
        CancellationToken::new(),
    );
    let again = p.decide(&c, &sp, later(), &cancel).await;
    assert_eq!(again, Decision::Approved, "the grant covers it, no new ask");
    assert!(conn.rx.try_recv().is_err());
    assert_eq!(p.list("w", false).len(), 1);
    p.revoke(&p.list("w", false)[0].id);
    assert!(p.list("w", false).is_empty() && p.list("w", true).len() == 1);
}

#[tokio::test]
async fn deny_timeouts_and_cancel_each_end_the_ask() {
    let hub = Hub::new();
    let p = Permissions::new(hub.clone());
    let mut conn = participant(&hub);
    let (h, req) = ask(
        &p,
        &mut conn,
        spec(Risk::High, "/y", ALL),
        later(),
        CancellationToken::new(),
    )
    .await;
    let rid = req["requestId"].as_str().unwrap().to_owned();
    p.answer(
        Some(&rid),
        "call_1",
        &json!({"type":"permission","grant":"deny"}),
    );
    assert_eq!(h.await.unwrap(), Decision::Denied);
    assert!(p.list("w", true).is_empty(), "a denial stores nothing");

    let (h, _) = ask(
        &p,
        &mut conn,
        spec(Risk::High, "/y", ALL),
        Instant::now() + Duration::from_millis(20),
        CancellationToken::new(),
    )
    .await;
    assert_eq!(h.await.unwrap(), Decision::ToolTimedOut);
    let timeout: Value = serde_json::from_str(&conn.rx.recv().await.unwrap()).unwrap();
    assert_eq!(timeout["type"], "ask.timeout");

    let cancel = CancellationToken::new();
    let (h, _) = ask(
        &p,
        &mut conn,
        spec(Risk::High, "/y", ALL),
        later(),
        cancel.clone(),
    )
    .await;
    assert_eq!(p.pending_ids("s").len(), 1);
    cancel.cancel();
    assert_eq!(h.await.unwrap(), Decision::Cancelled);
    assert!(p.pending_ids("s").is_empty());
}

#[tokio::test]
async fn severity_approves_without_asking_and_scopes_an_ask_does_not_allow_are_not_stored() {
    let hub = Hub::new();
    let p = Permissions::new(hub.clone());
    let (c, sp, cancel) = (
        cx(Some("medium")),
        spec(Risk::Medium, "/z", ALL),
        CancellationToken::new(),
    );
    assert_eq!(
        p.decide(&c, &sp, later(), &cancel).await,
        Decision::Approved
    );
    let mut conn = participant(&hub);
    let once_only = &[GrantScope::Once, GrantScope::Session];
    let (h, req) = ask(
        &p,
        &mut conn,
        spec(Risk::High, "/z", once_only),
        later(),
        CancellationToken::new(),
    )
    .await;
    let rid = req["requestId"].as_str().unwrap();
    p.answer(
        Some(rid),
        "call_1",
        &json!({"type":"permission","grant":"workspace"}),
    );
    assert_eq!(h.await.unwrap(), Decision::Approved);
    assert!(
        p.list("w", true).is_empty(),
        "workspace is not offered for this ask"
    );
}
