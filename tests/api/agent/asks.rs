//! Permission asks (`PROTOCOL-AGENT.md` §9): a call outside the workspace asks the person in
//! the tool card; once, a denial the model sees, a session grant that covers the next call,
//! the grant list, and a shell command interrupted while it runs.

use serde_json::{Value, json};

use super::*;
use crate::chat::{find, recv_turn, recv_until, send_chat};
use crate::fake_llm::Script;
use crate::helpers::wait_until;

/// The `ask.request` of the turn now running, after the tool part it belongs to.
async fn next_ask(ws: &mut WsClient) -> (Vec<Value>, Value) {
    let before = recv_until(ws, "ask.request").await;
    let ask = before.last().unwrap().clone();
    (before, ask)
}

fn answer(ask: &Value, grant: &str) -> Value {
    json!({"type": "ask.response", "toolCallId": ask["toolCallId"], "requestId": ask["requestId"],
           "response": {"type": "permission", "grant": grant}})
}

#[tokio::test]
async fn writing_outside_the_workspace_waits_for_the_person_and_runs_once_approved() {
    let fake = FakeLlm::start().await;
    let (dir, outside) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let target = outside.path().join("out.txt");
    let args = json!({"path": target, "content": "written\n"});
    fake.push(Script::tools(&[], &[("call_w", "write-file", args)]));
    fake.push(Script::reply(&["Done."]));
    let (_app, mut ws, sid, _) = agent_session(&fake, dir.path()).await;
    send_chat(&mut ws, &sid, "write it").await;
    let (before, ask) = next_ask(&mut ws).await;
    let card = tool_parts(&before, "call_w");
    assert_eq!(card.len(), 1, "the card exists before its ask: {before:#?}");
    assert_eq!(ask["toolCallId"], "call_w", "the ask shows in that card");
    assert_eq!(ask["sessionId"], sid.as_str());
    assert_eq!(ask["ask"]["type"], "permission");
    assert_eq!(ask["ask"]["risk"], "medium");
    assert!(!target.exists(), "nothing is written before the answer");
    ws.send_json(&answer(&ask, "once")).await;
    let events = recv_turn(&mut ws).await;
    let done = *tool_parts(&events, "call_w").last().unwrap();
    assert_eq!(done["part"]["state"]["status"], "completed", "{done}");
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "written\n");
}

#[tokio::test]
async fn a_denial_reaches_the_model_and_a_session_grant_covers_the_next_call() {
    let fake = FakeLlm::start().await;
    let (dir, outside) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    std::fs::write(outside.path().join("a.txt"), "secret-ish\n").unwrap();
    let read = json!({"path": outside.path().join("a.txt")});
    fake.push(Script::tools(&[], &[("call_1", "read-file", read.clone())]));
    fake.push(Script::reply(&["Understood."]));
    let (_app, mut ws, sid, wid) = agent_session(&fake, dir.path()).await;

    send_chat(&mut ws, &sid, "read a").await;
    let (_, ask) = next_ask(&mut ws).await;
    ws.send_json(&answer(&ask, "deny")).await;
    let events = recv_turn(&mut ws).await;
    let denied = *tool_parts(&events, "call_1").last().unwrap();
    assert_eq!(denied["part"]["state"]["status"], "error");
    assert_eq!(denied["part"]["state"]["error"], "USER_REJECTION");
    let seen = request_messages(&fake, 1);
    assert!(
        seen.last().unwrap()["content"]
            .as_str()
            .unwrap()
            .contains("USER_REJECTION")
    );

    // Approve for the session: the next read of the same file asks nobody.
    fake.push(Script::tools(&[], &[("call_2", "read-file", read.clone())]));
    fake.push(Script::reply(&["Read."]));
    fake.push(Script::tools(&[], &[("call_3", "read-file", read)]));
    fake.push(Script::reply(&["Read again."]));
    send_chat(&mut ws, &sid, "read a, please").await;
    let (_, ask) = next_ask(&mut ws).await;
    ws.send_json(&answer(&ask, "session")).await;
    let events = recv_turn(&mut ws).await;
    assert_eq!(
        tool_parts(&events, "call_2").last().unwrap()["part"]["state"]["status"],
        "completed"
    );
    send_chat(&mut ws, &sid, "and again").await;
    let events = recv_turn(&mut ws).await;
    assert!(
        !events.iter().any(|e| e["type"] == "ask.request"),
        "covered by the grant"
    );
    assert_eq!(
        tool_parts(&events, "call_3").last().unwrap()["part"]["state"]["status"],
        "completed"
    );

    ws.send_json(&json!({"type": "permission.list", "workspaceId": wid}))
        .await;
    let list = ws.expect("permission.list").await;
    let grants = list["grants"].as_array().unwrap();
    assert_eq!(grants.len(), 1, "{list}");
    assert_eq!(
        (grants[0]["scope"].clone(), grants[0]["toolName"].clone()),
        (json!("session"), json!("read-file"))
    );
    let gid = grants[0]["id"].clone();
    ws.send_json(&json!({"type": "permission.revoke", "grantId": gid}))
        .await;
    assert_eq!(ws.expect("permission.revoked").await["grantId"], gid);
    ws.send_json(&json!({"type": "permission.list", "workspaceId": wid}))
        .await;
    assert!(
        ws.expect("permission.list").await["grants"]
            .as_array()
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn an_interrupt_during_a_long_shell_command_kills_it_at_once() {
    let fake = FakeLlm::start().await;
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("pid.txt");
    let cmd = format!("echo $$ > {}; sleep 30; echo never", pidfile.display());
    fake.push(Script::tools(
        &[],
        &[("call_s", "shell", json!({"command": cmd}))],
    ));
    let (app, mut ws, sid, _) = agent_session(&fake, dir.path()).await;
    auto_approve(&app, &sid, "high").await;
    send_chat(&mut ws, &sid, "run it").await;
    recv_until(&mut ws, "part.created").await;
    wait_until("the command started", async || {
        std::fs::read_to_string(&pidfile).is_ok_and(|p| !p.trim().is_empty())
    })
    .await;
    let pid: i32 = std::fs::read_to_string(&pidfile)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    ws.send_json(&json!({"type": "session.interrupt", "sessionId": sid}))
        .await;
    let events = recv_turn(&mut ws).await;
    let stopped = find(&events, "session.interrupted");
    assert_eq!(
        stopped["result"]["interruptedTools"],
        json!(["call_s"]),
        "{stopped}"
    );
    let part = *tool_parts(&events, "call_s").last().unwrap();
    assert_eq!(part["part"]["state"]["status"], "interrupted");
    assert_eq!(part["part"]["state"]["reason"], "user_request");
    let msg = find(&events, "message.updated");
    assert_eq!(msg["message"]["status"], "interrupted");
    // §8.4 step 5: no `completedAt` and no `chat.usage`, although the step's stream had usage;
    // the step ends without a finish reason the SDK would not know.
    assert!(msg["message"].get("completedAt").is_none(), "{msg}");
    assert!(
        !events.iter().any(|e| e["type"] == "chat.usage"),
        "{events:?}"
    );
    let step = events
        .iter()
        .rfind(|e| e["type"] == "part.updated" && e["part"]["type"] == "step")
        .unwrap();
    assert_eq!(step["part"]["status"], "finished", "{step}");
    assert!(step["part"].get("finishReason").is_none(), "{step}");
    wait_until("the shell and its sleep are gone", async || {
        !group_alive(pid)
    })
    .await;
}

/// Whether any live (not zombie) process is in process group `pgid` (the shell tool starts
/// each command as the leader of a group of its own).
fn group_alive(pgid: i32) -> bool {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return false;
    };
    dir.flatten().any(|e| {
        let stat = std::fs::read_to_string(e.path().join("stat")).unwrap_or_default();
        // pid (comm) state ppid pgrp …; comm may hold spaces, so read after the last ')'.
        let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else {
            return false;
        };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        fields.len() > 2 && fields[0] != "Z" && fields[2] == pgid.to_string()
    })
}
