//! A database of the original (TypeScript) Jean2 server, opened by jean2: its workspaces,
//! sessions, messages and parts have the same layout (`PROTOCOL.md` §6) and carry over as they
//! are, after the columns the original adds over time (and jean2's `owner_id`) are added where
//! missing. The original's own agent tables (queue, asks, grants, attachments, pins, terminals,
//! schedules, push) have other layouts: they are kept, renamed `upstream_<name>`, and jean2
//! starts those empty. The server backs the file up before it gets here
//! (`config::files::backup_original_database`).

use rusqlite::{Connection, TransactionBehavior};

/// The original's tables whose names jean2 uses with another layout, or does not use.
const SET_ASIDE: &[&str] = &[
    "queued_messages",
    "pending_asks",
    "permission_grants",
    "attachments",
    "pinned_messages",
    "terminal_sessions",
    "todos",
];

/// Columns jean2 reads that an older original database may lack: `(table, column, decl)`.
const COLUMNS: &[(&str, &str, &str)] = &[
    ("workspaces", "settings", "TEXT DEFAULT '{}'"),
    ("workspaces", "owner_id", "TEXT"),
    ("sessions", "tags", "TEXT NOT NULL DEFAULT '[]'"),
    ("sessions", "auto_approve_severity", "TEXT"),
    ("sessions", "agent_id", "TEXT"),
    ("sessions", "cache_read_tokens", "INTEGER DEFAULT 0"),
    ("sessions", "cache_write_tokens", "INTEGER DEFAULT 0"),
    ("sessions", "no_cache_tokens", "INTEGER DEFAULT 0"),
    ("messages", "sequence", "INTEGER"),
    ("messages", "structured_output", "TEXT"),
    ("messages", "tokens_cache_read", "INTEGER DEFAULT 0"),
    ("messages", "tokens_cache_write", "INTEGER DEFAULT 0"),
    ("messages", "tokens_no_cache", "INTEGER DEFAULT 0"),
    ("parts", "call_id", "TEXT"),
];

fn has_table(c: &Connection, name: &str) -> rusqlite::Result<bool> {
    c.query_row(
        "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?1",
        [name],
        |r| r.get::<_, i64>(0),
    )
    .map(|n| n > 0)
}

fn has_column(c: &Connection, table: &str, column: &str) -> rusqlite::Result<bool> {
    c.query_row(
        "SELECT COUNT(*) FROM pragma_table_info(?1) WHERE name = ?2",
        [table, column],
        |r| r.get::<_, i64>(0),
    )
    .map(|n| n > 0)
}

/// If `conn` is a database of the original server that jean2 has never opened (no migration
/// recorded, no sqlx history, but a `workspaces` table), make its layout jean2's. Returns
/// whether it did.
pub(crate) fn adopt(conn: &mut Connection) -> rusqlite::Result<bool> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let version: u32 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if version != 0 || has_table(&tx, "_sqlx_migrations")? || !has_table(&tx, "workspaces")? {
        return Ok(false);
    }
    let mut set_aside = Vec::new();
    for table in SET_ASIDE {
        if has_table(&tx, table)? {
            tx.execute_batch(&format!(
                "ALTER TABLE \"{table}\" RENAME TO \"upstream_{table}\""
            ))?;
            set_aside.push(*table);
        }
    }
    for (table, column, decl) in COLUMNS {
        if has_table(&tx, table)? && !has_column(&tx, table, column)? {
            tx.execute_batch(&format!(
                "ALTER TABLE \"{table}\" ADD COLUMN \"{column}\" {decl}"
            ))?;
        }
    }
    tx.commit()?;
    tracing::warn!(
        set_aside = ?set_aside,
        "opened a database of the original Jean2 server: its workspaces, sessions and messages \
         carry over; its own queue, asks, grants, attachments, pins and terminals are kept as \
         upstream_* tables and not used"
    );
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The core of the original's schema before its later columns, with a row in each table and
    /// its own queue table.
    const ORIGINAL: &str = "
        CREATE TABLE workspaces (id TEXT PRIMARY KEY, name TEXT NOT NULL, path TEXT NOT NULL,
            is_virtual INTEGER NOT NULL DEFAULT 0, created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
        CREATE TABLE workspace_paths (workspace_id TEXT NOT NULL, path TEXT NOT NULL, label TEXT,
            PRIMARY KEY (workspace_id, path));
        CREATE TABLE sessions (id TEXT PRIMARY KEY, workspace_id TEXT NOT NULL, preconfig_id TEXT,
            title TEXT, status TEXT NOT NULL DEFAULT 'active', created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL, metadata TEXT, selected_model TEXT, selected_provider TEXT,
            selected_variant TEXT, prompt_tokens INTEGER DEFAULT 0,
            completion_tokens INTEGER DEFAULT 0, total_tokens INTEGER DEFAULT 0, parent_id TEXT,
            agent_name TEXT, subagent_status TEXT, running_at TEXT,
            compacting INTEGER NOT NULL DEFAULT 0);
        CREATE TABLE messages (id TEXT PRIMARY KEY, session_id TEXT NOT NULL, role TEXT NOT NULL,
            created_at INTEGER NOT NULL, status TEXT, model_id TEXT, provider_id TEXT, agent TEXT,
            tokens_prompt INTEGER DEFAULT 0, tokens_completion INTEGER DEFAULT 0,
            cost REAL DEFAULT 0, completed_at INTEGER, error TEXT, summary INTEGER DEFAULT 0,
            mode TEXT, parent_id TEXT);
        CREATE TABLE parts (id TEXT PRIMARY KEY, message_id TEXT NOT NULL,
            session_id TEXT NOT NULL, type TEXT NOT NULL, data TEXT NOT NULL,
            created_at INTEGER NOT NULL);
        CREATE TABLE queued_messages (id TEXT PRIMARY KEY, session_id TEXT NOT NULL,
            content TEXT NOT NULL, position INTEGER NOT NULL, created_at INTEGER NOT NULL);
        INSERT INTO workspaces VALUES ('w1', 'Mine', '/home/u/p', 0, '2026-01-01T00:00:00.000Z',
            '2026-01-01T00:00:00.000Z');
        INSERT INTO sessions (id, workspace_id, title, created_at, updated_at)
            VALUES ('s1', 'w1', 'Old chat', '2026-01-01T00:00:00.000Z', '2026-01-02T00:00:00.000Z');
        INSERT INTO messages (id, session_id, role, created_at) VALUES ('m1', 's1', 'user', 5);
        INSERT INTO parts VALUES ('p1', 'm1', 's1', 'text', '{\"type\":\"text\",\"text\":\"hi\"}', 5);
        INSERT INTO queued_messages VALUES ('q1', 's1', 'later', 0, 6);
    ";

    #[tokio::test]
    async fn an_original_database_keeps_its_chats_and_sets_its_own_tables_aside() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("agent.db");
        Connection::open(&path)
            .unwrap()
            .execute_batch(ORIGINAL)
            .unwrap();
        let store = crate::store::Store::open(&path).await.unwrap();
        let all = crate::store::Scope::All;
        let ws = store.list_workspaces(&all).await.unwrap();
        assert_eq!((ws.len(), ws[0].name.as_str()), (1, "Mine"));
        let s = store.get_session(&all, "s1").await.unwrap();
        assert_eq!(s.title, "Old chat");
        let page = store.newest_messages("s1", 50).await.unwrap();
        assert_eq!(page.messages[0].parts[0].data["text"], "hi");
        assert!(
            store.queued("s1").await.unwrap().is_empty(),
            "jean2's queue starts empty"
        );
        store.close().await;
        let c = Connection::open(&path).unwrap();
        assert!(
            has_table(&c, "upstream_queued_messages").unwrap(),
            "kept aside"
        );
        assert!(has_column(&c, "workspaces", "owner_id").unwrap());
    }
}
