//! The multi-step turn: tool calls streamed and run, results fed back, and the exact order of
//! `PROTOCOL-AGENT.md` §8.3.

use serde_json::json;

use super::*;
use crate::chat::{find, recv_turn, send_chat, types};
use crate::fake_llm::Script;

#[tokio::test]
async fn a_two_step_turn_reads_a_file_and_answers_in_the_documented_order() {
    let fake = FakeLlm::start().await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("notes.txt"), "hello from the file\n").unwrap();
    fake.push(Script::tools(
        &["Let me read it."],
        &[("call_1", "read-file", json!({"path": "notes.txt"}))],
    ));
    fake.push(Script::reply(&["The file says ", "hello."]));
    let (_app, mut ws, sid, _) = agent_session(&fake, dir.path()).await;
    send_chat(&mut ws, &sid, "what does notes.txt say?").await;
    let events = recv_turn(&mut ws).await;
    let kinds: Vec<String> = types(&events)
        .into_iter()
        .filter(|t| t != "part.append" && t != "session.renamed")
        .collect();
    assert_eq!(
        kinds,
        [
            "message.created",
            "part.created",
            "session.updated",
            "message.created",
            "part.created",
            "part.created",
            "part.created",
            "part.updated",
            "part.updated",
            "chat.usage",
            "part.created",
            "part.created",
            "part.updated",
            "chat.usage",
            "message.updated",
            "chat.usage",
            "session.updated",
        ],
        "{events:#?}"
    );
    let tool = tool_parts(&events, "call_1");
    assert_eq!(tool.len(), 2, "created pending, then completed");
    assert_eq!(tool[0]["part"]["state"]["status"], "pending");
    assert_eq!(tool[0]["part"]["state"]["input"]["path"], "notes.txt");
    let done = &tool[1]["part"]["state"];
    assert_eq!(done["status"], "completed", "{done}");
    assert!(
        done["output"]["content"]
            .as_str()
            .unwrap()
            .contains("hello from the file")
    );
    assert!(done["startedAt"].is_i64() && done["completedAt"].is_i64());
    let steps: Vec<_> = events
        .iter()
        .filter(|e| e["type"] == "part.updated" && e["part"]["type"] == "step")
        .collect();
    assert_eq!(steps[0]["part"]["finishReason"], "tool-calls");
    assert_eq!(steps[1]["part"]["finishReason"], "stop");
    let texts: Vec<_> = events
        .iter()
        .filter(|e| e["type"] == "part.created" && e["part"]["type"] == "text")
        .map(|e| e["part"]["id"].clone())
        .collect();
    assert_eq!(texts.len(), 3, "the user's, then one per step");
    assert_ne!(texts[1], texts[2], "a tool call closes the text part");
    assert_eq!(
        find(&events, "message.updated")["message"]["status"],
        "completed"
    );

    // What the model received: the workspace in the system prompt, the tools, and in step 2
    // its own call and the result.
    let first = &fake.requests()[0];
    let system = first["messages"][0]["content"].as_str().unwrap();
    let real = std::fs::canonicalize(dir.path()).unwrap();
    assert!(
        system.contains(&dir.path().display().to_string())
            || system.contains(&real.display().to_string()),
        "{system}"
    );
    let offered: Vec<&str> = first["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["function"]["name"].as_str().unwrap())
        .collect();
    assert!(
        offered.contains(&"read-file") && offered.contains(&"shell"),
        "{offered:?}"
    );
    let second = request_messages(&fake, 1);
    let n = second.len();
    assert_eq!(second[n - 2]["role"], "assistant");
    assert_eq!(second[n - 2]["tool_calls"][0]["id"], "call_1");
    assert_eq!(second[n - 1]["role"], "tool");
    assert_eq!(second[n - 1]["tool_call_id"], "call_1");
    assert!(
        second[n - 1]["content"]
            .as_str()
            .unwrap()
            .contains("hello from the file")
    );
}

#[tokio::test]
async fn an_unknown_tool_and_bad_arguments_end_as_errors_the_model_sees() {
    let fake = FakeLlm::start().await;
    let dir = tempfile::tempdir().unwrap();
    fake.push(Script::tools(
        &[],
        &[
            ("call_a", "no-such-tool", json!({})),
            ("call_b", "read-file", json!("not an object")),
        ],
    ));
    fake.push(Script::reply(&["Sorry."]));
    let (_app, mut ws, sid, _) = agent_session(&fake, dir.path()).await;
    send_chat(&mut ws, &sid, "go").await;
    let events = recv_turn(&mut ws).await;
    for (call, want) in [("call_a", "Unknown tool"), ("call_b", "JSON object")] {
        let last = *tool_parts(&events, call).last().unwrap();
        assert_eq!(last["part"]["state"]["status"], "error", "{call}: {last}");
        let error = last["part"]["state"]["error"].as_str().unwrap();
        assert!(error.contains(want), "{call}: {error}");
    }
    let second = request_messages(&fake, 1);
    let results: Vec<_> = second.iter().filter(|m| m["role"] == "tool").collect();
    assert_eq!(results.len(), 2, "the model sees both failures");
    assert!(
        results[0]["content"]
            .as_str()
            .unwrap()
            .contains("Unknown tool")
    );
}

#[tokio::test]
async fn the_step_budget_ends_the_turn_completed() {
    let fake = FakeLlm::start().await;
    let dir = tempfile::tempdir().unwrap();
    let app = crate::helpers::spawn_app_with(|s| {
        crate::chat::use_fake(s, &fake);
        s.llm.max_steps = 2;
    })
    .await;
    let (mut ws, sid, _) = session_in(&app, dir.path()).await;
    for n in 0..2 {
        let id = format!("call_{n}");
        fake.push(Script::tools(&[], &[(id.as_str(), "ls", json!({}))]));
    }
    send_chat(&mut ws, &sid, "keep listing").await;
    let events = recv_turn(&mut ws).await;
    assert_eq!(
        find(&events, "message.updated")["message"]["status"],
        "completed"
    );
    assert_eq!(
        fake.requests().len(),
        2,
        "two steps, then the budget ends the turn"
    );
}
