-- Core tables, as migrations/0001_core.sql for SQLite. Text that is compared or ordered is
-- COLLATE "C" (bytewise, as SQLite), so pages and cursors come out in the same order whatever
-- the database's locale. JSON is kept as text, written and read back byte for byte.
CREATE TABLE workspaces (
    id          TEXT COLLATE "C" PRIMARY KEY,
    name        TEXT NOT NULL,
    path        TEXT NOT NULL,
    is_virtual  BOOLEAN NOT NULL DEFAULT FALSE,
    created_at  TEXT COLLATE "C" NOT NULL,
    updated_at  TEXT COLLATE "C" NOT NULL,
    settings    TEXT DEFAULT '{}',
    owner_id    TEXT COLLATE "C"
);

CREATE TABLE workspace_paths (
    workspace_id TEXT COLLATE "C" NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    path         TEXT COLLATE "C" NOT NULL,
    label        TEXT,
    -- Insertion order (SQLite's rowid).
    seq          BIGINT GENERATED ALWAYS AS IDENTITY,
    PRIMARY KEY (workspace_id, path)
);

CREATE TABLE sessions (
    id                    TEXT COLLATE "C" PRIMARY KEY,
    workspace_id          TEXT COLLATE "C" NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    preconfig_id          TEXT,
    title                 TEXT,
    status                TEXT NOT NULL DEFAULT 'active',
    created_at            TEXT COLLATE "C",
    updated_at            TEXT COLLATE "C",
    metadata              TEXT,
    selected_model        TEXT,
    selected_provider     TEXT,
    selected_variant      TEXT,
    prompt_tokens         BIGINT DEFAULT 0,
    completion_tokens     BIGINT DEFAULT 0,
    total_tokens          BIGINT DEFAULT 0,
    cache_read_tokens     BIGINT DEFAULT 0,
    cache_write_tokens    BIGINT DEFAULT 0,
    no_cache_tokens       BIGINT DEFAULT 0,
    parent_id             TEXT COLLATE "C",
    agent_name            TEXT,
    subagent_status       TEXT,
    running_at            TEXT,
    compacting            BOOLEAN NOT NULL DEFAULT FALSE,
    tags                  TEXT NOT NULL DEFAULT '[]',
    auto_approve_severity TEXT,
    agent_id              TEXT
);
CREATE INDEX idx_sessions_status ON sessions(status);
CREATE INDEX idx_sessions_parent ON sessions(parent_id);
CREATE INDEX idx_sessions_ws_updated ON sessions(workspace_id, updated_at DESC, id DESC);
CREATE INDEX idx_sessions_ws_status_updated ON sessions(workspace_id, status, updated_at DESC, id DESC);
CREATE INDEX idx_sessions_ws_root_updated ON sessions(workspace_id, updated_at DESC, id DESC) WHERE parent_id IS NULL;

CREATE TABLE messages (
    id                 TEXT COLLATE "C" PRIMARY KEY,
    session_id         TEXT COLLATE "C" NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    role               TEXT NOT NULL,
    created_at         BIGINT NOT NULL,
    status             TEXT,
    model_id           TEXT,
    provider_id        TEXT,
    agent              TEXT,
    tokens_prompt      BIGINT DEFAULT 0,
    tokens_completion  BIGINT DEFAULT 0,
    tokens_cache_read  BIGINT DEFAULT 0,
    tokens_cache_write BIGINT DEFAULT 0,
    tokens_no_cache    BIGINT DEFAULT 0,
    cost               DOUBLE PRECISION DEFAULT 0,
    completed_at       BIGINT,
    error              TEXT,
    summary            BIGINT DEFAULT 0,
    mode               TEXT,
    parent_id          TEXT,
    structured_output  TEXT,
    sequence           BIGINT
);
CREATE UNIQUE INDEX idx_messages_session_sequence ON messages(session_id, sequence);
CREATE INDEX idx_messages_session_created ON messages(session_id, created_at);
-- Streaming replies, found by recovery.
CREATE INDEX idx_messages_streaming ON messages(session_id) WHERE status = 'streaming';

CREATE TABLE parts (
    id         TEXT COLLATE "C" PRIMARY KEY,
    message_id TEXT COLLATE "C" NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    session_id TEXT COLLATE "C" NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    type       TEXT NOT NULL,
    call_id    TEXT,
    data       TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX idx_parts_message_created ON parts(message_id, created_at, id);
CREATE INDEX idx_parts_session_created ON parts(session_id, created_at);
CREATE INDEX idx_parts_type ON parts(type);
CREATE INDEX idx_parts_session_call ON parts(session_id, call_id) WHERE type = 'tool';
