//! Where chat turns meet per-user data: an OAuth user chats in their own session over the
//! WebSocket and hears the whole turn; the running-state broadcasts reach that user's other
//! connections and the owner, never another user; another user can neither resume, chat in,
//! stop nor edit the queue of that session; a `read`-only token cannot start a turn.

use serde_json::{Value, json};

use crate::chat::{find, recv_turn, recv_until, resume, send_chat, types, use_fake};
use crate::fake_llm::{FakeLlm, Gate, Script};
use crate::helpers::{TOKEN, WsClient};
use crate::oauth_support::*;
use crate::oauth_users::{get, post};

/// An OAuth server wired to a fake provider, and an app asking for `scopes`.
async fn setup(scopes: &[&str]) -> (OAuthApp, FakeLlm, String) {
    let fake = FakeLlm::start().await;
    let s = spawn_oauth_with(|settings| use_fake(settings, &fake)).await;
    let client_id = s.public_app(scopes).await.client_id;
    (s, fake, client_id)
}

/// Sign `email` in through `client_id`: the access token, checked to carry exactly `scope`.
async fn user_token(s: &OAuthApp, client_id: &str, email: &str, scope: &str) -> String {
    let tokens = s.tokens_for(client_id, email).await;
    assert_eq!(tokens["scope"], scope, "{email}: {tokens}");
    tokens["access_token"].as_str().unwrap().to_owned()
}

async fn connect(s: &OAuthApp, token: &str) -> WsClient {
    let mut ws = s.app.ws(Some(token)).await.expect("websocket");
    ws.register().await;
    ws
}

/// A workspace of the token's user (REST), a session in it created over `ws`, and resumed.
async fn own_session(s: &OAuthApp, ws: &mut WsClient, token: &str) -> String {
    let body = json!({"name": "mine", "isVirtual": true});
    let (status, w) = post(s, token, "/api/workspaces", body).await;
    assert_eq!(status, 201, "{w}");
    ws.send_json(
        &json!({"type": "session.create", "workspaceId": w["workspace"]["id"],
                         "preconfigId": "general"}),
    )
    .await;
    let created = ws.expect("session.created").await;
    let sid = created["session"]["id"].as_str().unwrap().to_owned();
    let resumed = resume(ws, &sid).await;
    assert_eq!(resumed["isRunning"], false);
    sid
}

async fn transcript_len(s: &OAuthApp, sid: &str) -> usize {
    let (status, t) = get(s, TOKEN, &format!("/api/sessions/{sid}/transcript")).await;
    assert_eq!(status, 200, "{t}");
    t["messages"].as_array().unwrap().len()
}

fn running(e: &Value) -> bool {
    e["type"] == "session.updated" && e["session"]["runningAt"].is_string()
}

fn stopped(e: &Value) -> bool {
    e["type"] == "session.updated" && e["session"]["runningAt"].is_null()
}

#[tokio::test]
async fn a_users_turn_reaches_them_in_order_and_its_running_state_reaches_their_tabs_and_the_owner_only()
 {
    let (s, fake, client_id) = setup(&["read", "write"]).await;
    fake.push(Script::reply(&["Hel", "lo"]));
    s.add_user("alice@example.com").await;
    s.add_user("bob@example.com").await;
    let alice = user_token(&s, &client_id, "alice@example.com", "read write").await;
    let bob = user_token(&s, &client_id, "bob@example.com", "read write").await;
    let mut bob_ws = connect(&s, &bob).await;
    let mut owner_ws = connect(&s, TOKEN).await;
    let mut alice_tab = connect(&s, &alice).await;
    let mut alice_ws = connect(&s, &alice).await;

    let sid = own_session(&s, &mut alice_ws, &alice).await;
    send_chat(&mut alice_ws, &sid, "Hi there").await;
    let events = recv_turn(&mut alice_ws).await;
    assert_eq!(
        types(&events),
        [
            "message.created",
            "part.created",
            "session.updated",
            "message.created",
            "part.created",
            "part.created",
            "part.append",
            "part.updated",
            "chat.usage",
            "message.updated",
            "chat.usage",
            "session.updated",
        ],
        "PROTOCOL.md §4.5 for a user's own session"
    );
    assert!(running(&events[2]), "{}", events[2]);
    assert_eq!(events[2]["session"]["id"], sid.as_str());
    assert!(stopped(&events[11]), "{}", events[11]);
    let done = find(&events, "message.updated");
    assert_eq!(done["message"]["status"], "completed", "{done}");
    assert_eq!(done["message"]["role"], "assistant");
    let renamed = alice_ws.expect("session.renamed").await;
    assert_eq!(renamed["session"]["title"], "Fake Title");
    assert_eq!(transcript_len(&s, &sid).await, 2, "both messages saved");

    // The owner and alice's other tab (neither resumed) hear the session appear and its
    // running state, and nothing from inside it.
    for (label, ws) in [
        ("owner", &mut owner_ws),
        ("alice's other tab", &mut alice_tab),
    ] {
        let created = ws.expect("session.created").await;
        assert_eq!(created["session"]["id"], sid.as_str(), "{label}");
        let start = ws.recv_json().await;
        assert!(running(&start), "{label}: {start}");
        assert_eq!(start["session"]["id"], sid.as_str(), "{label}");
        let end = ws.recv_json().await;
        assert!(stopped(&end), "{label}: {end}");
        ws.expect_nothing_before_barrier(label).await;
    }
    bob_ws
        .expect_nothing_before_barrier("bob hears nothing of alice's session")
        .await;
}

#[tokio::test]
async fn another_user_cannot_resume_chat_in_stop_or_dequeue_a_users_session() {
    let (s, fake, client_id) = setup(&["read", "write"]).await;
    let gate = Gate::new();
    fake.push(Script::held(&["a", "b", "c"], 1, &gate));
    fake.push(Script::reply(&["second reply"]));
    s.add_user("alice@example.com").await;
    s.add_user("bob@example.com").await;
    let alice = user_token(&s, &client_id, "alice@example.com", "read write").await;
    let bob = user_token(&s, &client_id, "bob@example.com", "read write").await;
    let mut alice_ws = connect(&s, &alice).await;
    let mut bob_ws = connect(&s, &bob).await;
    let sid = own_session(&s, &mut alice_ws, &alice).await;

    send_chat(&mut alice_ws, &sid, "first").await;
    let mut first = recv_until(&mut alice_ws, "session.updated").await;
    send_chat(&mut alice_ws, &sid, "second").await;
    first.extend(recv_until(&mut alice_ws, "queue.added").await);
    let queued = first.pop().unwrap();
    let queue_id = queued["message"]["id"].as_str().unwrap().to_owned();

    // Bob knows both ids and tries everything while alice's turn runs.
    let attempts = [
        (
            "resume",
            json!({"type": "session.resume", "sessionId": sid}),
            None,
        ),
        (
            "chat.message",
            json!({"type": "chat.message", "sessionId": sid, "content": "mine now"}),
            None,
        ),
        (
            "queue.add",
            json!({"type": "queue.add", "sessionId": sid, "content": "mine now"}),
            None,
        ),
        // PROTOCOL-AGENT.md §8.4: an unknown session is `not_found` without a `sessionId`.
        (
            "session.interrupt",
            json!({"type": "session.interrupt", "sessionId": sid}),
            None,
        ),
        (
            "queue.remove",
            json!({"type": "queue.remove", "queueId": queue_id}),
            None,
        ),
    ];
    for (label, msg, session_id) in &attempts {
        bob_ws.send_json(msg).await;
        let answer = bob_ws.recv_json().await;
        assert_eq!(answer["type"], "error", "{label}: {answer}");
        assert_eq!(answer["code"], "not_found", "{label}: {answer}");
        assert_eq!(
            answer["sessionId"].as_str(),
            *session_id,
            "{label}: {answer}"
        );
    }

    // Alice's first turn finished untouched, and her queued message still ran.
    gate.open();
    first.extend(recv_turn(&mut alice_ws).await);
    let done = find(&first, "message.updated");
    assert_eq!(done["message"]["status"], "completed", "not stopped by bob");
    let mut second = recv_turn(&mut alice_ws).await;
    second.retain(|e| e["type"] != "session.renamed");
    assert_eq!(second[0]["type"], "queue.sending", "{:?}", types(&second));
    assert_eq!(second[0]["queueId"], queue_id.as_str());
    assert_eq!(second[2]["part"]["text"], "second");
    assert_eq!(
        find(&second, "message.updated")["message"]["status"],
        "completed"
    );
    assert_eq!(fake.requests().len(), 2, "bob's messages never ran");
    assert_eq!(transcript_len(&s, &sid).await, 4, "only alice's two turns");
    bob_ws
        .expect_nothing_before_barrier("bob hears nothing of alice's session")
        .await;
}

#[tokio::test]
async fn a_read_only_user_token_cannot_start_a_turn_and_nothing_is_saved() {
    let (s, fake, writer_app) = setup(&["read", "write"]).await;
    fake.push(Script::reply(&["never"]));
    s.add_user("carol@example.com").await;
    let writer = user_token(&s, &writer_app, "carol@example.com", "read write").await;
    let mut writer_ws = connect(&s, &writer).await;
    let sid = own_session(&s, &mut writer_ws, &writer).await;
    let reader_app = s.public_app(&["read"]).await.client_id;
    let reader = user_token(&s, &reader_app, "carol@example.com", "read").await;

    let mut ws = connect(&s, &reader).await;
    let resumed = resume(&mut ws, &sid).await;
    assert_eq!(resumed["session"]["id"], sid.as_str(), "read may resume");
    for kind in ["chat.message", "queue.add"] {
        send_chat_as(&mut ws, kind, &sid).await;
        let answer = ws.recv_json().await;
        assert_eq!(answer["type"], "error", "{kind}: {answer}");
        assert_eq!(answer["code"], "forbidden", "{kind}: {answer}");
        assert_eq!(answer["sessionId"], sid.as_str(), "{kind}: {answer}");
        assert!(
            answer["message"].as_str().unwrap().contains("write"),
            "{kind}: names the missing scope: {answer}"
        );
    }
    ws.expect_nothing_before_barrier("no turn started").await;
    // Admission happens while the message is handled: had a turn been admitted, the session
    // would be running (until its worker ends, after the provider was called).
    let resumed = resume(&mut ws, &sid).await;
    assert_eq!(resumed["isRunning"], false, "no turn was admitted");
    writer_ws
        .expect_nothing_before_barrier("the writer hears no turn")
        .await;
    assert!(fake.requests().is_empty(), "the provider was never called");
    assert_eq!(transcript_len(&s, &sid).await, 0, "nothing saved");
    let (_, session) = get(&s, TOKEN, &format!("/api/sessions/{sid}")).await;
    assert!(session["session"]["runningAt"].is_null(), "{session}");
}

async fn send_chat_as(ws: &mut WsClient, kind: &str, sid: &str) {
    ws.send_json(&json!({"type": kind, "sessionId": sid, "content": "hello"}))
        .await;
}

#[tokio::test]
async fn deleting_a_session_mid_turn_cuts_the_provider_stream_and_reports_no_error() {
    let (s, fake, client_id) = setup(&["read", "write"]).await;
    s.add_user("alice@example.com").await;
    let alice = user_token(&s, &client_id, "alice@example.com", "read write").await;
    let mut ws = connect(&s, &alice).await;
    let mut cut = 0;
    for how in ["ws session.delete", "REST session", "REST workspace"] {
        // The provider sends one chunk and then waits for ever: only a cut ends the stream.
        fake.push(Script::held(&["a", "b", "c"], 1, &Gate::new()));
        let sid = own_session(&s, &mut ws, &alice).await;
        let (_, session) = get(&s, &alice, &format!("/api/sessions/{sid}")).await;
        let workspace = session["session"]["workspaceId"]
            .as_str()
            .unwrap()
            .to_owned();
        send_chat(&mut ws, &sid, "long one").await;
        let mut frames = recv_until(&mut ws, "session.updated").await;
        frames.extend(recv_until(&mut ws, "part.created").await); // the step
        frames.extend(recv_until(&mut ws, "part.created").await); // the text, with the first chunk
        assert_eq!(fake.open_streams(), 1, "{how}: streaming");
        send_chat(&mut ws, &sid, "queued behind it").await;
        frames.extend(recv_until(&mut ws, "queue.added").await);
        assert_no_error(how, &frames);

        let path = match how {
            "ws session.delete" => {
                ws.send_json(&json!({"type": "session.delete", "sessionId": sid}))
                    .await;
                None
            }
            "REST session" => Some(format!("/api/sessions/{sid}")),
            _ => Some(format!("/api/workspaces/{workspace}")),
        };
        if let Some(path) = path {
            let res = s.app.client.delete(s.app.url(&path)).bearer_auth(&alice);
            let status = res.send().await.unwrap().status();
            assert_eq!(status, 200, "{how}");
        }
        fake.wait_no_open_streams().await;
        cut += 1;
        assert_eq!(
            fake.cut_streams(),
            cut,
            "{how}: the provider stream is cut, not read to its end"
        );
        // What the turn and the queued message end with goes to this connection (an error
        // would be a toast); it has no signal of its own, so it is checked here and again
        // among the frames of the next round and of a last, ordinary turn.
        let after = ws.frames_before_barrier().await;
        assert_no_error(how, &after);
    }
    fake.push(Script::reply(&["fine"]));
    let sid = own_session(&s, &mut ws, &alice).await;
    send_chat(&mut ws, &sid, "and now?").await;
    assert_no_error("the turn after", &recv_turn(&mut ws).await);
}

fn assert_no_error(label: &str, frames: &[Value]) {
    let errors: Vec<_> = frames.iter().filter(|v| v["type"] == "error").collect();
    assert!(errors.is_empty(), "{label}: no error toast: {errors:#?}");
}
