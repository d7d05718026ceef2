-- Core tables, laid out as upstream's (PROTOCOL.md §6) so ids and timestamps match what clients expect.
CREATE TABLE IF NOT EXISTS workspaces (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    path        TEXT NOT NULL,
    is_virtual  INTEGER NOT NULL DEFAULT 0,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    settings    TEXT DEFAULT '{}',
    -- Who created it: NULL for the owner (shared token or auth off), else a user id (OAuth).
    owner_id    TEXT
);

CREATE TABLE IF NOT EXISTS workspace_paths (
    workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    path         TEXT NOT NULL,
    label        TEXT,
    PRIMARY KEY (workspace_id, path)
);

CREATE TABLE IF NOT EXISTS sessions (
    id                    TEXT PRIMARY KEY,
    workspace_id          TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    preconfig_id          TEXT,
    title                 TEXT,
    status                TEXT NOT NULL DEFAULT 'active',
    created_at            TEXT,
    updated_at            TEXT,
    metadata              TEXT,
    selected_model        TEXT,
    selected_provider     TEXT,
    selected_variant      TEXT,
    prompt_tokens         INTEGER DEFAULT 0,
    completion_tokens     INTEGER DEFAULT 0,
    total_tokens          INTEGER DEFAULT 0,
    cache_read_tokens     INTEGER DEFAULT 0,
    cache_write_tokens    INTEGER DEFAULT 0,
    no_cache_tokens       INTEGER DEFAULT 0,
    parent_id             TEXT,
    agent_name            TEXT,
    subagent_status       TEXT,
    running_at            TEXT,
    compacting            INTEGER NOT NULL DEFAULT 0,
    tags                  TEXT NOT NULL DEFAULT '[]',
    auto_approve_severity TEXT,
    agent_id              TEXT
);
CREATE INDEX IF NOT EXISTS idx_sessions_status ON sessions(status);
CREATE INDEX IF NOT EXISTS idx_sessions_parent ON sessions(parent_id);
CREATE INDEX IF NOT EXISTS idx_sessions_ws_updated ON sessions(workspace_id, updated_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS idx_sessions_ws_status_updated ON sessions(workspace_id, status, updated_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS idx_sessions_ws_root_updated ON sessions(workspace_id, updated_at DESC, id DESC) WHERE parent_id IS NULL;

CREATE TABLE IF NOT EXISTS messages (
    id                 TEXT PRIMARY KEY,
    session_id         TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    role               TEXT NOT NULL,
    created_at         INTEGER NOT NULL,
    status             TEXT,
    model_id           TEXT,
    provider_id        TEXT,
    agent              TEXT,
    tokens_prompt      INTEGER DEFAULT 0,
    tokens_completion  INTEGER DEFAULT 0,
    tokens_cache_read  INTEGER DEFAULT 0,
    tokens_cache_write INTEGER DEFAULT 0,
    tokens_no_cache    INTEGER DEFAULT 0,
    cost               REAL DEFAULT 0,
    completed_at       INTEGER,
    error              TEXT,
    summary            INTEGER DEFAULT 0,
    mode               TEXT,
    parent_id          TEXT,
    structured_output  TEXT,
    sequence           INTEGER
);
CREATE UNIQUE INDEX IF NOT EXISTS idx_messages_session_sequence ON messages(session_id, sequence);
CREATE INDEX IF NOT EXISTS idx_messages_session_created ON messages(session_id, created_at);

CREATE TABLE IF NOT EXISTS parts (
    id         TEXT PRIMARY KEY,
    message_id TEXT NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    type       TEXT NOT NULL,
    call_id    TEXT,
    data       TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS idx_parts_message_created ON parts(message_id, created_at);
CREATE INDEX IF NOT EXISTS idx_parts_session_created ON parts(session_id, created_at);
CREATE INDEX IF NOT EXISTS idx_parts_type ON parts(type);
CREATE INDEX IF NOT EXISTS idx_parts_session_call ON parts(session_id, call_id) WHERE type = 'tool';
