//! Several jean2 instances on one PostgreSQL database (issue 16): a client on one instance
//! sees, in order and complete, a turn that runs on another. Runs on the PostgreSQL pass only
//! (one SQLite file belongs to one server).

use crate::chat::{
    client_with_session, recv_turn, resume, send_chat, streamed_text, types, use_fake,
};
use crate::fake_llm::{FakeLlm, Script};
use crate::helpers::{TestApp, on_sqlite, spawn_app_with, test_database};

/// Two instances on one fresh database, both talking to `fake`.
async fn two_instances(fake: &FakeLlm) -> (TestApp, TestApp) {
    let url = test_database().await.expect("a PostgreSQL run");
    let start = || {
        spawn_app_with(|s| {
            use_fake(s, fake);
            s.database_url = Some(url.clone());
        })
    };
    let a = start().await;
    let b = start().await;
    (a, b)
}

#[tokio::test]
async fn a_turn_on_one_instance_reaches_a_client_of_another_in_order_and_complete() {
    if on_sqlite() {
        return;
    }
    let fake = FakeLlm::start().await;
    let (a, b) = two_instances(&fake).await;
    let (mut on_b, sid) = client_with_session(&b).await;
    let mut on_a = a.ws(None).await.expect("ws");
    on_a.register().await;
    resume(&mut on_a, &sid).await;
    // One chunk over NOTIFY's 8000-byte payload limit: it travels by reference.
    let big = "x".repeat(20_000);
    fake.push(Script::reply(&["Hel", &big, "lo"]));
    send_chat(&mut on_b, &sid, "Hi there").await;

    let here = recv_turn(&mut on_b).await;
    let there = recv_turn(&mut on_a).await;
    assert_eq!(
        types(&there),
        types(&here),
        "the same events, in the same order"
    );
    assert_eq!(there, here, "the same bodies");
    assert!(
        there.iter().any(|e| e.to_string().len() > 8000),
        "a frame over NOTIFY's limit was relayed"
    );
    let text = streamed_text(&there, "text");
    assert_eq!(
        text,
        format!("Hel{big}lo"),
        "every chunk, the large one too"
    );
}
