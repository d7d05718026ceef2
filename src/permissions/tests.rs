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

const ALL: &[GrantScope] = &[GrantScope::Once, GrantScope::Session, GrantScope::Workspace];

fn later() -> Instant {
    Instant::now() + Duration::from_secs(60)
}

/// A permission core on a real store, a session in it, and a connection that resumed it.
struct Fixture {
    p: Permissions,
    sid: String,
    ws: String,
    conn: crate::events::hub::Registration,
    _dir: tempfile::TempDir,
}

impl Fixture {
    async fn new() -> Fixture {
        let hub = Hub::new();
        let (store, dir) = crate::store::testing::store().await;
        let sid = crate::store::testing::session(&store).await;
        let ws = store
            .get_session(&Scope::All, &sid)
            .await
            .unwrap()
            .workspace_id;
        let conn = hub.register(Scope::All, crate::events::Credential::Open);
        hub.join_session(conn.id, &sid);
        Fixture {
            p: Permissions::new(hub, store),
            sid,
            ws,
            conn,
            _dir: dir,
        }
    }

    fn cx<'a>(&'a self, auto: Option<&'a str>) -> AskContext<'a> {
        AskContext {
            root_session_id: &self.sid,
            workspace_id: &self.ws,
            auto_approve: auto,
            tool_call_id: "call_1",
            tool_name: "read-file",
        }
    }

    /// Start an ask in the background; its handle and the `ask.request` frame.
    async fn ask(
        &mut self,
        spec: AskSpec,
        deadline: Instant,
        cancel: CancellationToken,
    ) -> (tokio::task::JoinHandle<Decision>, Value) {
        let (p, sid, ws) = (self.p.clone(), self.sid.clone(), self.ws.clone());
        let handle = tokio::spawn(async move {
            let cx = AskContext {
                root_session_id: &sid,
                workspace_id: &ws,
                auto_approve: None,
                tool_call_id: "call_1",
                tool_name: "read-file",
            };
            p.decide(&cx, &spec, deadline, &cancel).await
        });
        let frame = self.conn.link.next_frame().await;
        let v: Value = serde_json::from_str(&frame).unwrap();
        assert_eq!(v["type"], "ask.request");
        (handle, v)
    }
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

#[tokio::test]
async fn an_answer_reaches_the_tool_and_a_session_grant_covers_the_next_call() {
    let mut f = Fixture::new().await;
    let (handle, req) = f
        .ask(
            spec(Risk::Medium, "/x", ALL),
            later(),
            CancellationToken::new(),
        )
        .await;
    assert_eq!(req["toolCallId"], "call_1");
    assert_eq!(req["ask"]["type"], "permission");
    let rid = req["requestId"].as_str().unwrap().to_owned();
    assert_eq!(f.p.pending_for(&f.sid).await.len(), 1);
    let grant = json!({"type":"permission","grant":"session"});
    assert!(f.p.answer(Some(&rid), "call_1", &grant));
    assert_eq!(handle.await.unwrap(), Decision::Approved);
    assert!(f.p.pending_for(&f.sid).await.is_empty());
    assert!(!f.p.answer(Some(&rid), "call_1", &grant), "answered once");
    let (sp, cx, cancel) = (
        spec(Risk::Medium, "/x", ALL),
        f.cx(None),
        CancellationToken::new(),
    );
    let again = f.p.decide(&cx, &sp, later(), &cancel).await;
    assert_eq!(again, Decision::Approved, "the grant covers it");
    assert!(f.conn.link.try_next_frame().is_none(), "no new ask");
    let listed = f.p.list(&f.ws, false).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].scope, "session");
    f.p.revoke(&Scope::All, &listed[0].id).await.unwrap();
    assert!(f.p.list(&f.ws, false).await.unwrap().is_empty());
    assert_eq!(f.p.list(&f.ws, true).await.unwrap().len(), 1);
}

#[tokio::test]
async fn deny_timeouts_and_cancel_each_end_the_ask() {
    let mut f = Fixture::new().await;
    let (h, req) = f
        .ask(
            spec(Risk::High, "/y", ALL),
            later(),
            CancellationToken::new(),
        )
        .await;
    let rid = req["requestId"].as_str().unwrap().to_owned();
    f.p.answer(
        Some(&rid),
        "call_1",
        &json!({"type":"permission","grant":"deny"}),
    );
    assert_eq!(h.await.unwrap(), Decision::Denied);
    assert!(
        f.p.list(&f.ws, true).await.unwrap().is_empty(),
        "a denial stores nothing"
    );

    let soon = Instant::now() + Duration::from_millis(20);
    let (h, _) = f
        .ask(spec(Risk::High, "/y", ALL), soon, CancellationToken::new())
        .await;
    assert_eq!(h.await.unwrap(), Decision::ToolTimedOut);
    let timeout: Value = serde_json::from_str(&f.conn.link.next_frame().await).unwrap();
    assert_eq!(timeout["type"], "ask.timeout");

    let cancel = CancellationToken::new();
    let (h, _) = f
        .ask(spec(Risk::High, "/y", ALL), later(), cancel.clone())
        .await;
    assert_eq!(f.p.pending_ids(&f.sid).len(), 1);
    cancel.cancel();
    assert_eq!(h.await.unwrap(), Decision::Cancelled);
    assert!(f.p.pending_ids(&f.sid).is_empty());
}

#[tokio::test]
async fn severity_approves_without_asking_and_scopes_an_ask_does_not_allow_are_not_stored() {
    let mut f = Fixture::new().await;
    let (sp, cx, cancel) = (
        spec(Risk::Medium, "/z", ALL),
        f.cx(Some("medium")),
        CancellationToken::new(),
    );
    let d = f.p.decide(&cx, &sp, later(), &cancel).await;
    assert_eq!(d, Decision::Approved);
    let session_only = &[GrantScope::Once, GrantScope::Session];
    let (h, req) = f
        .ask(
            spec(Risk::High, "/z", session_only),
            later(),
            CancellationToken::new(),
        )
        .await;
    let rid = req["requestId"].as_str().unwrap();
    f.p.answer(
        Some(rid),
        "call_1",
        &json!({"type":"permission","grant":"workspace"}),
    );
    assert_eq!(h.await.unwrap(), Decision::Approved);
    assert!(
        f.p.list(&f.ws, true).await.unwrap().is_empty(),
        "workspace is not offered for this ask"
    );
}
