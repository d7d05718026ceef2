-- The agent's state that must survive a restart: queued messages, permission grants, the asks
-- waiting for a person, and each session's todo list (PROTOCOL-AGENT.md §8–10).
CREATE TABLE IF NOT EXISTS queued_messages (
    id          TEXT PRIMARY KEY,
    session_id  TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    content     TEXT NOT NULL,
    position    INTEGER NOT NULL,
    attachments TEXT,
    created_at  INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS idx_queued_session ON queued_messages(session_id, position);

CREATE TABLE IF NOT EXISTS permission_grants (
    id                    TEXT PRIMARY KEY,
    workspace_id          TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    tool_name             TEXT NOT NULL,
    resource              TEXT NOT NULL,
    action                TEXT NOT NULL,
    scope                 TEXT NOT NULL,
    matcher               TEXT NOT NULL,
    patterns              TEXT NOT NULL,
    allowed               INTEGER NOT NULL DEFAULT 1,
    granted_at            TEXT NOT NULL,
    expires_at            INTEGER,
    granted_by            TEXT,
    revoked_at            TEXT,
    revoked_by            TEXT,
    metadata              TEXT,
    bound_root_session_id TEXT
);
CREATE INDEX IF NOT EXISTS idx_grants_workspace ON permission_grants(workspace_id, granted_at);

CREATE TABLE IF NOT EXISTS pending_asks (
    request_id   TEXT PRIMARY KEY,
    session_id   TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    tool_call_id TEXT NOT NULL,
    request      TEXT NOT NULL,
    status       TEXT NOT NULL DEFAULT 'pending',
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS idx_pending_asks_session ON pending_asks(session_id, status);

CREATE TABLE IF NOT EXISTS todos (
    session_id TEXT PRIMARY KEY REFERENCES sessions(id) ON DELETE CASCADE,
    items      TEXT NOT NULL
);
