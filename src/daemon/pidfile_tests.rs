//! Unit tests of the pidfile: locking, stale records, describe.

use super::*;

fn record(port: Option<u16>) -> Record {
    Record {
        pid: std::process::id(),
        port,
        host: "127.0.0.1".into(),
        started_at: "2026-01-01T00:00:00.000Z".into(),
        version: "0.0.0".into(),
        url: port.map(|p| format!("http://127.0.0.1:{p}")),
    }
}

#[test]
fn a_held_lock_makes_a_second_acquire_fail_with_the_first_record() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("server.pid");
    let _first = PidfileGuard::acquire(&path, &record(Some(8742))).unwrap();
    let err = PidfileGuard::acquire(&path, &record(None)).unwrap_err();
    match &err {
        AcquireError::AlreadyRunning {
            record: Some(r), ..
        } => {
            assert_eq!(r.port, Some(8742))
        }
        other => panic!("expected AlreadyRunning with a record, got {other:?}"),
    }
    let msg = err.to_string();
    assert!(
        msg.contains("already running") && msg.contains("http://127.0.0.1:8742"),
        "{msg}"
    );
}

#[test]
fn inspect_sees_the_holder_and_the_guard_removes_the_file_on_drop() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("server.pid");
    let mut guard = PidfileGuard::acquire(&path, &record(None)).unwrap();
    guard.write(&record(Some(1234))).unwrap();
    match inspect(&path).unwrap() {
        State::Running(r) => {
            assert_eq!(r.record, Some(record(Some(1234))));
            assert!(!r.wait_released(Duration::from_millis(50)).unwrap());
        }
        other => panic!("expected Running, got {other:?}"),
    }
    drop(guard);
    assert!(!path.exists(), "the guard removes the pidfile");
    assert!(matches!(
        inspect(&path).unwrap(),
        State::NotRunning { stale: None }
    ));
}

#[test]
fn an_unlocked_file_is_stale_and_inspect_removes_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("server.pid");
    let left_behind = record(Some(9999));
    fs::write(&path, serde_json::to_vec(&left_behind).unwrap()).unwrap();
    match inspect(&path).unwrap() {
        State::NotRunning { stale: Some(s) } => {
            assert_eq!(s.record, Some(left_behind));
            assert!(s.note().contains("stale"), "{}", s.note());
        }
        other => panic!("expected a stale file, got {other:?}"),
    }
    assert!(!path.exists(), "the stale file is removed");
}

#[test]
fn a_stale_file_does_not_stop_a_new_server() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("server.pid");
    fs::write(&path, b"garbage").unwrap();
    let guard = PidfileGuard::acquire(&path, &record(Some(1))).unwrap();
    assert_eq!(read(&path), Some(record(Some(1))));
    drop(guard);
}

#[test]
fn wait_released_returns_once_the_holder_drops_the_guard() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("server.pid");
    let guard = PidfileGuard::acquire(&path, &record(Some(1))).unwrap();
    let State::Running(running) = inspect(&path).unwrap() else {
        panic!("expected Running");
    };
    let t = std::thread::spawn(move || running.wait_released(Duration::from_secs(5)));
    drop(guard);
    assert!(t.join().unwrap().unwrap());
}
