//! One terminal's life: a command's output, the replay on reconnect, the per-workspace limit,
//! and its end on close or server stop.

use std::time::Duration;

use futures_util::StreamExt;

use jean2::terminal::frames;
use reqwest::Method;
use serde_json::json;

use super::{Sock, alive, call, create, process_group, setup};

#[tokio::test]
async fn a_shell_runs_echo_without_the_servers_secrets_and_closing_it_ends_it_and_its_jobs() {
    let (app, ws, dir) = setup().await;
    let session = create(&app, &ws).await;
    assert_eq!(session["status"], "running");
    assert_eq!(
        (session["cols"].as_u64(), session["rows"].as_u64()),
        (Some(80), Some(24))
    );
    assert_eq!(session["cwd"], dir.path().to_string_lossy().as_ref());
    let sid = session["id"].as_str().unwrap();
    let shell_pid = session["pid"].as_i64().unwrap();
    let mut term = Sock::attach(&app, &ws, sid).await;
    let init = term.json_frame(frames::INIT_ACK).await;
    assert_eq!(
        (init["sessionId"].as_str(), init["isReconnect"].as_bool()),
        (Some(sid), Some(true))
    );

    term.type_line("echo answer-$((6*7)) in $(pwd) home=[$HOME]")
        .await;
    let out = term.output_until("answer-42").await;
    // The typed command is echoed too; the answer is the line that starts with the result.
    let at = out.find("answer-42 ").unwrap_or_else(|| panic!("{out}"));
    let line = out[at..].lines().next().unwrap();
    let real = std::fs::canonicalize(dir.path()).unwrap();
    assert!(
        line.contains(&format!("in {}", real.display())),
        "starts in the workspace: {line}"
    );
    assert!(
        line.contains("home=[]"),
        "a name from .env does not reach the shell: {line}"
    );

    // Quotes split the markers, so the echoed command line cannot match them.
    term.type_line("sleep 1000 & echo jo''b=$!=e''nd").await;
    let out = term.output_until("=end").await;
    let at = out.find("job=").unwrap_or_else(|| panic!("{out}"));
    let job: i64 = out[at + 4..].split('=').next().unwrap().parse().unwrap();
    assert!(alive(job) && alive(shell_pid));
    assert_ne!(
        process_group(job),
        shell_pid,
        "job control put the job in a group of its own"
    );

    let (status, body) = call(
        &app,
        Method::DELETE,
        &format!("/api/workspaces/{ws}/terminals/{sid}"),
    )
    .await;
    assert_eq!((status, body), (200, json!({"success": true})));
    assert!(!alive(shell_pid), "the shell is gone when DELETE answers");
    assert!(
        !alive(job),
        "its background job (in a process group of its own) too"
    );
    let exit = term.json_frame(frames::EXIT).await;
    assert!(exit["exitCode"].is_i64(), "{exit}");
    assert_eq!(
        term.close_frame().await.map(|f| u16::from(f.code)),
        Some(1000)
    );
    let (status, _) = call(
        &app,
        Method::GET,
        &format!("/api/workspaces/{ws}/terminals/{sid}"),
    )
    .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn reconnecting_replays_the_scrollback_then_continues_live() {
    let (app, ws, _dir) = setup().await;
    let sid = create(&app, &ws).await["id"].as_str().unwrap().to_owned();
    let mut first = Sock::attach(&app, &ws, &sid).await;
    first.json_frame(frames::INIT_ACK).await;
    first.type_line("echo before-$((1+1))").await;
    first.output_until("before-2").await;
    // Close and read to the end: the server has then let go of this socket.
    first.0.close(None).await.unwrap();
    while let Some(Ok(_)) = first.0.next().await {}

    let mut again = Sock::attach(&app, &ws, &sid).await;
    again.json_frame(frames::INIT_ACK).await;
    let mut replay = String::new();
    loop {
        let (op, payload) = again.frame().await;
        match op {
            frames::OUTPUT => replay.push_str(&String::from_utf8_lossy(&payload)),
            frames::REPLAY_COMPLETE => break,
            other => panic!("unexpected opcode {other} during replay"),
        }
    }
    assert!(
        replay.contains("before-2"),
        "the scrollback is replayed: {replay}"
    );
    again
        .send(frames::RESIZE, br#"{"cols":100,"rows":30}"#)
        .await;
    again.type_line("echo after-$((2+2)) $(stty size)").await;
    let out = again.output_until("after-4").await;
    assert!(
        out.contains("after-4 30 100"),
        "live output after the resize: {out}"
    );
    let (_, info) = call(
        &app,
        Method::GET,
        &format!("/api/workspaces/{ws}/terminals/{sid}"),
    )
    .await;
    assert_eq!(
        (info["cols"].as_u64(), info["activeClientCount"].as_u64()),
        (Some(100), Some(1)),
        "{info}"
    );
}

#[tokio::test]
async fn a_workspace_has_at_most_ten_running_terminals() {
    let (app, ws, _dir) = setup().await;
    for _ in 0..10 {
        create(&app, &ws).await;
    }
    let (status, body) = call(
        &app,
        Method::POST,
        &format!("/api/workspaces/{ws}/terminals"),
    )
    .await;
    assert_eq!(status, 429);
    assert_eq!(
        body,
        json!({"error": "Limit Reached",
                            "message": "Maximum terminal sessions reached for this workspace"})
    );
    let (_, list) = call(
        &app,
        Method::GET,
        &format!("/api/workspaces/{ws}/terminals"),
    )
    .await;
    assert_eq!(list["sessions"].as_array().unwrap().len(), 10);
}

#[tokio::test]
async fn stopping_the_server_ends_every_terminal() {
    let (app, ws, _dir) = setup().await;
    let pid = create(&app, &ws).await["pid"].as_i64().unwrap();
    assert!(alive(pid));
    app.stop().await;
    // Shutdown closes terminals in the background of the server's last moments: poll.
    for _ in 0..500 {
        if !alive(pid) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the shell {pid} outlived the server");
}
