//! Who may reach the host (issue 11 item 4): an OAuth user's agent gets no `shell` and no path
//! outside their workspace until the owner runs `jean2 users allow-host` (the real binary, on
//! the running server's data dir, taking effect from the next turn); `deny-host` undoes it.

use std::process::Command;

use serde_json::{Value, json};

use super::tool_parts;
use crate::chat::{recv_turn, recv_type, resume, send_chat, use_fake};
use crate::fake_llm::{FakeLlm, Script};
use crate::oauth_support::*;

/// The tool names of chat request `n`.
fn offered(fake: &FakeLlm, n: usize) -> Vec<String> {
    fake.requests()[n]["tools"]
        .as_array()
        .map(|t| {
            t.iter()
                .map(|t| t["function"]["name"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

fn admin(s: &OAuthApp, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_jean2"))
        .args(args)
        .env("JEAN2_DATA_DIR", s.app.data_dir.path())
        .envs(crate::helpers::database_env(&s.app.settings))
        .env_remove("JEAN2_AUTH_TOKEN")
        .output()
        .expect("run jean2");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{args:?}: {stderr}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The final state of tool call `call` in a turn's events.
fn tool_end(events: &[Value], call: &str) -> Value {
    tool_parts(events, call).last().unwrap()["part"]["state"].clone()
}

#[tokio::test]
async fn a_users_agent_reaches_the_host_only_after_the_owner_allows_it() {
    let fake = FakeLlm::start().await;
    let outside = tempfile::tempdir().unwrap();
    let secret = outside.path().join("host.txt");
    std::fs::write(&secret, "on the host").unwrap();
    let read = json!({"path": secret});
    for call in ["c1", "c2"] {
        fake.push(Script::tools(&[], &[(call, "read-file", read.clone())]));
        fake.push(Script::reply(&["done"]));
    }
    fake.push(Script::reply(&["done"]));
    let s = spawn_oauth_with(|settings| use_fake(settings, &fake)).await;
    s.add_user("dev@example.com").await;
    let client_id = s.public_app(&["read", "write"]).await.client_id;
    let tokens = s.tokens_for(&client_id, "dev@example.com").await;
    let token = tokens["access_token"].as_str().unwrap();
    let w: Value = s
        .app
        .client
        .post(s.app.url("/api/workspaces"))
        .bearer_auth(token)
        .json(&json!({"name": "mine", "isVirtual": true}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut ws = s.app.ws(Some(token)).await.expect("websocket");
    ws.register().await;
    ws.send_json(&json!({"type": "session.create", "preconfigId": "code",
                         "workspaceId": w["workspace"]["id"]}))
        .await;
    let sid = recv_type(&mut ws, "session.created").await["session"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    resume(&mut ws, &sid).await;
    let approve = s
        .app
        .client
        .put(s.app.url(&format!("/api/sessions/{sid}")))
        .bearer_auth(token)
        .json(&json!({"autoApproveSeverity": "high"}))
        .send()
        .await
        .unwrap();
    assert_eq!(approve.status(), 200);

    send_chat(&mut ws, &sid, "read it").await;
    let events = recv_turn(&mut ws).await;
    let tools = offered(&fake, 0);
    assert!(tools.contains(&"read-file".to_owned()), "{tools:?}");
    assert!(!tools.contains(&"shell".to_owned()), "{tools:?}");
    let end = tool_end(&events, "c1");
    assert_eq!(end["status"], "error", "refused even when approved: {end}");

    let said = admin(&s, &["users", "allow-host", "dev@example.com"]);
    assert!(said.contains("may now run shell commands"), "{said}");
    assert!(admin(&s, &["users", "list"]).contains("host"));
    send_chat(&mut ws, &sid, "again").await;
    let events = recv_turn(&mut ws).await;
    assert!(offered(&fake, 2).contains(&"shell".to_owned()));
    let end = tool_end(&events, "c2");
    assert_eq!(end["status"], "completed", "{end}");
    assert!(end["output"].to_string().contains("on the host"), "{end}");

    admin(&s, &["users", "deny-host", "dev@example.com"]);
    send_chat(&mut ws, &sid, "and now?").await;
    recv_turn(&mut ws).await;
    assert!(!offered(&fake, 4).contains(&"shell".to_owned()));
}
