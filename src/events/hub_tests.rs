//! Tests of the hub (`hub.rs`).

use super::*;

/// Whether the connection had anything queued (it is taken and counted as written).
fn took(r: &Registration) -> bool {
    let frames = r.link.take().unwrap_or_default();
    r.link.written(frames.len());
    !frames.is_empty()
}

#[tokio::test]
async fn revoking_closes_only_the_connections_opened_with_it() {
    let hub = Hub::new();
    let user = |id: &str, family: &str| Credential::User {
        user_id: id.into(),
        app_id: "app".into(),
        family: family.into(),
        token_id: "t".into(),
        expires_at_ms: 0,
    };
    let owner = hub.register(Scope::All, Credential::SharedToken);
    let alice = hub.register(Scope::Owner("alice".into()), user("alice", "f1"));
    let bob = hub.register(Scope::Owner("bob".into()), user("bob", "f2"));
    assert_eq!(hub.revoke(Revoked::Family("f1")), 1);
    assert_eq!(alice.link.close_reason(), Some(CloseReason::Revoked));
    assert_eq!(bob.link.close_reason(), None);
    assert_eq!(owner.link.close_reason(), None);
    assert_eq!(
        hub.oauth_credentials().len(),
        2,
        "the shared token is not OAuth"
    );
    assert_eq!(hub.revoke(Revoked::SharedToken), 1);
    assert_eq!(owner.link.close_reason(), Some(CloseReason::Revoked));
}

#[tokio::test]
async fn watched_sockets_hear_no_events_and_close_on_revocation_and_shutdown() {
    let hub = Hub::new();
    let terminal = hub.watch(Credential::SharedToken);
    let other = hub.watch(Credential::Open);
    assert_eq!(
        hub.publish_frame(Audience::Viewers { owner: None }, "x".into()),
        0
    );
    hub.heartbeat();
    assert!(!took(&terminal), "no events, no pings");
    assert_eq!(hub.connection_count(), 0, "not an event connection");
    assert_eq!(hub.revoke(Revoked::SharedToken), 1);
    assert_eq!(terminal.link.close_reason(), Some(CloseReason::Revoked));
    assert_eq!(other.link.close_reason(), None);
    hub.close_all(CloseReason::Shutdown);
    assert_eq!(other.link.close_reason(), Some(CloseReason::Shutdown));
    hub.unregister(other.id);
    assert_eq!(hub.revoke(Revoked::SharedToken), 1, "the other one is gone");
}

#[tokio::test]
async fn after_close_all_a_new_connection_is_closed_at_once() {
    let hub = Hub::new();
    let a = hub.register(Scope::All, Credential::Open);
    hub.close_all(CloseReason::Shutdown);
    let b = hub.register(Scope::All, Credential::Open);
    assert_eq!(a.link.close_reason(), Some(CloseReason::Shutdown));
    assert_eq!(b.link.close_reason(), Some(CloseReason::Shutdown));
}

#[tokio::test]
async fn session_events_reach_only_participants() {
    let hub = Hub::new();
    let a = hub.register(Scope::All, Credential::Open);
    let b = hub.register(Scope::All, Credential::Open);
    hub.join_session(a.id, "s1");
    hub.join_session(a.id, "s1");
    assert_eq!(hub.publish(Audience::Session("s1"), &ServerEvent::Ping), 1);
    assert!(took(&a));
    assert!(!took(&b));
    assert_eq!(
        hub.publish(
            Audience::ViewersExcept {
                owner: None,
                except: a.id
            },
            &ServerEvent::Ping
        ),
        1
    );
    hub.unregister(a.id);
    assert_eq!(hub.publish(Audience::Session("s1"), &ServerEvent::Ping), 0);
}

#[tokio::test]
async fn broadcasts_reach_users_only_for_their_own_workspaces() {
    let hub = Hub::new();
    let user = |id: &str| Scope::Owner(id.into());
    let owner = hub.register(Scope::All, Credential::Open);
    let alice = hub.register(user("alice"), Credential::Open);
    let bob = hub.register(user("bob"), Credential::Open);
    assert_eq!(
        hub.publish(
            Audience::Viewers {
                owner: Some("alice")
            },
            &ServerEvent::Ping
        ),
        2
    );
    assert!(took(&owner) && took(&alice));
    assert!(!took(&bob), "bob never hears about alice's workspace");
    assert_eq!(
        hub.publish(Audience::Viewers { owner: None }, &ServerEvent::Ping),
        1,
        "the owner's workspaces: owner only"
    );
    assert_eq!(
        hub.publish(
            Audience::ViewersExcept {
                owner: None,
                except: owner.id
            },
            &ServerEvent::Ping
        ),
        0
    );
}

#[tokio::test]
async fn session_backlog_is_the_longest_participant_queue() {
    let hub = Hub::new();
    let a = hub.register(Scope::All, Credential::Open);
    let b = hub.register(Scope::All, Credential::Open);
    hub.join_session(a.id, "s");
    hub.join_session(b.id, "s");
    assert_eq!(hub.session_backlog("s"), 0);
    for _ in 0..3 {
        hub.publish(Audience::Session("s"), &ServerEvent::Ping);
    }
    assert!(took(&a));
    assert_eq!(hub.session_backlog("s"), 3, "b has read nothing");
    assert_eq!(hub.session_backlog("other"), 0);
}

#[tokio::test]
async fn a_full_queue_evicts_the_connection() {
    let hub = Hub::new();
    let a = hub.register(Scope::All, Credential::Open);
    for _ in 0..OUTBOUND_QUEUE {
        hub.publish(Audience::Viewers { owner: None }, &ServerEvent::Ping);
    }
    assert_eq!(a.link.close_reason(), None);
    hub.publish(Audience::Viewers { owner: None }, &ServerEvent::Ping);
    assert_eq!(a.link.close_reason(), Some(CloseReason::TooSlow));
}
