//! The happy paths: one turn's exact event order, reasoning, context, interrupt, queue, titles.

use std::time::Duration;

use serde_json::json;

use super::*;
use crate::fake_llm::{Gate, Script};

#[tokio::test]
async fn a_turn_sends_the_protocol_events_in_order_and_persists_the_reply() {
    let fake = FakeLlm::start().await;
    fake.push(Script::Reply {
        reasoning: vec![],
        content: vec!["Hel".into(), "lo".into(), " you".into()],
        usage: (21, 3, 5),
        delay: Duration::ZERO,
    });
    let app = app_for(&fake).await;
    let (mut ws, sid) = client_with_session(&app).await;
    send_chat(&mut ws, &sid, "Hi there").await;
    let events = recv_turn(&mut ws).await;
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
            "part.append",
            "part.updated",
            "chat.usage",
            "message.updated",
            "chat.usage",
            "session.updated",
        ]
    );
    let (user, user_part) = (&events[0]["message"], &events[1]["part"]);
    assert_eq!(user["role"], "user");
    assert_eq!(user["sessionId"], sid.as_str());
    assert!(user["createdAt"].is_i64());
    assert_eq!(user_part["messageId"], user["id"]);
    assert_eq!(user_part["type"], "text");
    assert_eq!(user_part["text"], "Hi there");
    assert!(events[2]["session"]["runningAt"].is_string());
    let assistant = &events[3]["message"];
    assert_eq!(assistant["role"], "assistant");
    assert_eq!(assistant["status"], "streaming");
    assert_eq!(assistant["providerId"], "openai");
    assert_eq!(assistant["tokens"]["prompt"], 0);
    let step = &events[4]["part"];
    assert_eq!(
        (
            step["type"].clone(),
            step["status"].clone(),
            step["number"].clone()
        ),
        (json!("step"), json!("started"), json!(1))
    );
    assert_eq!(
        events[5]["part"]["text"], "Hel",
        "the text part carries the first chunk"
    );
    assert_eq!(events[6]["field"], "text");
    assert_eq!(streamed_text(&events, "text"), "Hello you");
    let step_done = &events[8]["part"];
    assert_eq!(step_done["id"], step["id"]);
    assert_eq!(step_done["status"], "finished");
    assert_eq!(step_done["finishReason"], "stop");
    assert_eq!(step_done["tokens"]["prompt"], 21);
    assert_eq!(step_done["tokens"]["cacheRead"], 5);
    let done = &events[10]["message"];
    assert_eq!(done["id"], assistant["id"]);
    assert_eq!(done["status"], "completed");
    assert!(done["completedAt"].is_i64());
    assert_eq!(done["tokens"]["completion"], 3);
    let usage = &events[11];
    assert_eq!(usage["usage"]["totalTokens"], 24);
    assert_eq!(usage["usage"]["noCacheTokens"], 16);
    assert_eq!(usage["model"], assistant["modelId"]);
    assert!(events[12]["session"]["runningAt"].is_null());
    assert_eq!(events[12]["session"]["totalTokens"], 24);

    // Title generated with the same provider, after the reply.
    let renamed = recv_type(&mut ws, "session.renamed").await;
    assert_eq!(renamed["session"]["title"], "Fake Title");
    assert_eq!(fake.title_requests().len(), 1);

    // A fresh client resuming sees the same transcript.
    let mut other = app.ws(None).await.unwrap();
    other.register().await;
    let resumed = resume(&mut other, &sid).await;
    let messages = resumed["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 2);
    let reply = &messages[1];
    assert_eq!(reply["message"]["status"], "completed");
    let parts: Vec<_> = reply["parts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["type"].clone())
        .collect();
    assert_eq!(parts, [json!("step"), json!("text")]);
    assert_eq!(reply["parts"][1]["text"], "Hello you");
    assert_eq!(resumed["usage"]["totalTokens"], 24);
    assert_eq!(resumed["isRunning"], false);
}

#[tokio::test]
async fn reasoning_streams_into_a_reasoning_part_before_the_text() {
    let fake = FakeLlm::start().await;
    fake.push(Script::Reply {
        reasoning: vec!["Think".into(), "ing".into()],
        content: vec!["Answer".into()],
        usage: (5, 5, 0),
        delay: Duration::ZERO,
    });
    let app = app_for(&fake).await;
    let (mut ws, sid) = client_with_session(&app).await;
    send_chat(&mut ws, &sid, "Why?").await;
    let events = recv_turn(&mut ws).await;
    let created: Vec<_> = events
        .iter()
        .filter(|e| e["type"] == "part.created")
        .map(|e| e["part"]["type"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(created, ["text", "step", "reasoning", "text"]);
    assert_eq!(streamed_text(&events, "reasoning"), "Thinking");
    assert!(
        events
            .iter()
            .any(|e| e["type"] == "part.append" && e["field"] == "reasoning")
    );
    assert_eq!(streamed_text(&events, "text"), "Answer");
}

#[tokio::test]
async fn the_session_keeps_the_last_turns_usage_as_its_context_size_not_a_sum() {
    let fake = FakeLlm::start().await;
    for usage in [(100, 20, 0), (130, 7, 50)] {
        fake.push(Script::Reply {
            reasoning: vec![],
            content: vec!["ok".into()],
            usage,
            delay: Duration::ZERO,
        });
    }
    let app = app_for(&fake).await;
    let (mut ws, sid) = client_with_session(&app).await;
    send_chat(&mut ws, &sid, "one").await;
    recv_turn(&mut ws).await;
    send_chat(&mut ws, &sid, "two").await;
    let events = recv_turn(&mut ws).await;
    let idle = events.last().unwrap();
    assert_eq!(idle["type"], "session.updated");
    let session = &idle["session"];
    assert_eq!(
        (
            session["promptTokens"].clone(),
            session["completionTokens"].clone(),
            session["totalTokens"].clone(),
            session["cacheReadTokens"].clone()
        ),
        (json!(130), json!(7), json!(137), json!(50)),
        "{session}"
    );
    let resumed = resume(&mut ws, &sid).await;
    assert_eq!(resumed["usage"]["totalTokens"], 137, "{resumed}");
    assert_eq!(resumed["usage"]["promptTokens"], 130);
}

#[tokio::test]
async fn the_whole_conversation_and_the_system_prompt_go_to_the_provider() {
    let fake = FakeLlm::start().await;
    fake.push(Script::reply(&["First", " answer"]));
    fake.push(Script::reply(&["Second"]));
    let app = app_for(&fake).await;
    let (mut ws, sid) = client_with_session(&app).await;
    send_chat(&mut ws, &sid, "one").await;
    recv_turn(&mut ws).await;
    send_chat(&mut ws, &sid, "two").await;
    recv_turn(&mut ws).await;
    let requests = fake.requests();
    assert_eq!(requests.len(), 2);
    let msgs = requests[1]["messages"].as_array().unwrap();
    let roles: Vec<_> = msgs.iter().map(|m| m["role"].as_str().unwrap()).collect();
    assert_eq!(roles, ["system", "user", "assistant", "user"]);
    assert!(
        !msgs[0]["content"].as_str().unwrap().is_empty(),
        "preconfig prompt"
    );
    assert_eq!(msgs[1]["content"], "one");
    assert_eq!(msgs[2]["content"], "First answer");
    assert_eq!(msgs[3]["content"], "two");
    assert_eq!(requests[1]["stream"], true);
    assert_eq!(requests[1]["model"], requests[0]["model"]);
}

#[tokio::test]
async fn interrupt_stops_the_stream_at_once_and_keeps_the_text_so_far() {
    let fake = FakeLlm::start().await;
    let words: Vec<String> = (0..100).map(|i| format!("w{i} ")).collect();
    let words: Vec<&str> = words.iter().map(String::as_str).collect();
    // The provider sends three words and then waits (for ever): the rest is never sent.
    fake.push(Script::held(&words, 3, &Gate::new()));
    let app = app_for(&fake).await;
    let (mut ws, sid) = client_with_session(&app).await;
    send_chat(&mut ws, &sid, "long please").await;
    let mut events = recv_until(&mut ws, "part.append").await;
    events.extend(recv_until(&mut ws, "part.append").await);
    ws.send_json(&json!({"type": "session.interrupt", "sessionId": sid}))
        .await;
    events.extend(recv_turn(&mut ws).await);
    fake.wait_no_open_streams().await;
    assert_eq!(
        fake.cut_streams(),
        1,
        "stopped at once: the provider had more to send"
    );
    let updated = find(&events, "message.updated");
    assert_eq!(updated["message"]["status"], "interrupted");
    assert_eq!(updated["message"]["error"], "Interrupted by user");
    let text = streamed_text(&events, "text");
    assert!(text.starts_with("w0 w1 w2 "), "{text}");
    assert!(
        !events
            .iter()
            .any(|e| e["type"].as_str().unwrap().starts_with("error"))
    );
    let resumed = resume(&mut ws, &sid).await;
    let reply = &resumed["messages"][1];
    assert_eq!(reply["message"]["status"], "interrupted");
    let saved = reply["parts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["type"] == "text")
        .unwrap();
    assert_eq!(saved["text"], text.as_str(), "all text received is saved");
    assert_eq!(resumed["isRunning"], false);
    // No more chunks after the stop, and no title for an interrupted reply.
    ws.expect_nothing_before_barrier("nothing after the stop")
        .await;
    assert_next_turn_asks_the_first_title(&mut ws, &fake, &sid, "interrupted").await;
}

#[tokio::test]
async fn a_message_sent_while_a_turn_runs_is_queued_and_runs_after_it() {
    let fake = FakeLlm::start().await;
    // Each turn waits at its gate, so "while it runs" holds however slow the machine is.
    let (first_gate, second_gate) = (Gate::new(), Gate::new());
    fake.push(Script::held(&["a", "b", "c"], 1, &first_gate));
    fake.push(Script::held(&["second reply"], 0, &second_gate));
    let app = app_for(&fake).await;
    let (mut ws, sid) = client_with_session(&app).await;
    send_chat(&mut ws, &sid, "first").await;
    let mut first = recv_until(&mut ws, "message.created").await;
    send_chat(&mut ws, &sid, "second").await;
    ws.send_json(&json!({"type": "queue.add", "sessionId": sid, "content": "third"}))
        .await;
    let mut queued = Vec::new();
    while queued.len() < 2 {
        let v = ws.recv_json().await;
        if v["type"] == "queue.added" {
            queued.push(v);
        } else {
            first.push(v);
        }
    }
    first_gate.open();
    first.extend(recv_turn(&mut ws).await);
    assert!(
        !first.iter().any(|e| e["type"] == "queue.added"),
        "both queued at once: {:?}",
        types(&first)
    );
    // PROTOCOL-AGENT.md §10: the SDK reads `message`.
    assert_eq!(queued[0]["message"]["content"], "second");
    assert_eq!(queued[0]["message"]["position"], 0);
    assert_eq!(queued[1]["message"]["position"], 1);
    assert_eq!(queued[0]["sessionId"], sid.as_str());
    assert_eq!(
        find(&first, "message.updated")["message"]["status"],
        "completed"
    );
    assert_eq!(streamed_text(&first, "text"), "abc");
    // Remove the third while the second runs.
    let third = queued[1]["message"]["id"].as_str().unwrap().to_owned();
    ws.send_json(&json!({"type": "queue.remove", "queueId": third}))
        .await;
    let mut second = Vec::new();
    loop {
        let v = ws.recv_json().await;
        let removed = v["type"] == "queue.removed" && v["queueId"] == third.as_str();
        second.push(v);
        if removed {
            break;
        }
    }
    second_gate.open();
    second.extend(recv_turn(&mut ws).await);
    let sending = find(&second, "queue.sending");
    assert_eq!(
        sending["queueId"], queued[0]["message"]["id"],
        "§10: taken off the queue"
    );
    second.retain(|e| {
        !matches!(
            e["type"].as_str(),
            Some("session.renamed" | "queue.removed" | "queue.sending")
        )
    });
    assert_eq!(second[0]["type"], "message.created");
    assert_eq!(second[1]["part"]["text"], "second");
    assert_eq!(streamed_text(&second, "text"), "second reply");
    // The third never ran: once the session is idle, exactly two chat requests were made.
    wait_idle(&mut ws, &sid).await;
    assert_eq!(fake.requests().len(), 2);
}

#[tokio::test]
async fn pre_check_failures_answer_the_sender_once_without_a_session_id() {
    let fake = FakeLlm::start().await;
    let app = app_for(&fake).await;
    let (mut ws, sid) = client_with_session(&app).await;

    send_chat(&mut ws, "no-such-session", "hi").await;
    let e = ws.recv_json().await;
    assert_eq!(
        (e["type"].clone(), e["code"].clone()),
        (json!("error"), json!("not_found")),
        "{e}"
    );
    assert!(e.get("sessionId").is_none());

    ws.send_json(&json!({"type": "session.update_model", "sessionId": sid, "modelId": "deepseek-chat", "providerId": "deepseek"})).await;
    recv_type(&mut ws, "session.updated").await;
    send_chat(&mut ws, &sid, "hi").await;
    let e = ws.recv_json().await;
    assert_eq!(e["code"], "no_api_key", "{e}");
    assert_eq!(
        e["message"],
        "No API key configured for provider: deepseek. Set JEAN2_LLM_DEEPSEEK_API_KEY"
    );
    assert!(e.get("sessionId").is_none());

    ws.send_json(&json!({"type": "session.update_model", "sessionId": sid, "modelId": "m", "providerId": "nope"})).await;
    recv_type(&mut ws, "session.updated").await;
    send_chat(&mut ws, &sid, "hi").await;
    let e = ws.recv_json().await;
    assert_eq!(e["code"], "unknown_provider", "{e}");
    assert_eq!(e["message"], "Unknown provider: nope");

    ws.send_json(&json!({"type": "session.create", "preconfigId": "no-such-preconfig"}))
        .await;
    let other = recv_type(&mut ws, "session.created").await["session"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    send_chat(&mut ws, &other, "hi").await;
    let e = ws.recv_json().await;
    assert_eq!(e["code"], "no_preconfig", "{e}");

    ws.send_json(&json!({"type": "session.close", "sessionId": sid}))
        .await;
    recv_type(&mut ws, "session.closed").await;
    send_chat(&mut ws, &sid, "hi").await;
    let e = ws.recv_json().await;
    assert_eq!(e["code"], "session_closed", "{e}");
    assert!(e.get("sessionId").is_none());

    ws.expect_nothing_before_barrier("one error each").await;
    assert!(fake.requests().is_empty(), "nothing reached the provider");
}

#[tokio::test]
async fn a_failed_title_is_reported_and_leaves_the_chat_alone() {
    let fake = FakeLlm::start().await;
    fake.fail_titles(500);
    let app = app_for(&fake).await;
    let (mut ws, sid) = client_with_session(&app).await;
    send_chat(&mut ws, &sid, "hello").await;
    let events = recv_turn(&mut ws).await;
    assert_eq!(
        find(&events, "message.updated")["message"]["status"],
        "completed"
    );
    let e = recv_type(&mut ws, "error").await;
    assert_eq!(e["code"], "title_generation_error");
    assert_eq!(e["sessionId"], sid.as_str());
    // The next turn still works and the title is tried again.
    fake.push(Script::reply(&["again"]));
    send_chat(&mut ws, &sid, "more").await;
    let events = recv_turn(&mut ws).await;
    assert_eq!(streamed_text(&events, "text"), "again");
}
