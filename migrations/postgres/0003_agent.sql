-- The agent's state, as migrations/0003_agent.sql for SQLite.
CREATE TABLE queued_messages (
    id          TEXT COLLATE "C" PRIMARY KEY,
    session_id  TEXT COLLATE "C" NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    content     TEXT NOT NULL,
    position    BIGINT NOT NULL,
    attachments TEXT,
    created_at  BIGINT NOT NULL
);
CREATE INDEX idx_queued_session ON queued_messages(session_id, position);

CREATE TABLE permission_grants (
    id                    TEXT COLLATE "C" PRIMARY KEY,
    workspace_id          TEXT COLLATE "C" NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    tool_name             TEXT NOT NULL,
    resource              TEXT NOT NULL,
    action                TEXT NOT NULL,
    scope                 TEXT NOT NULL,
    matcher               TEXT NOT NULL,
    patterns              TEXT NOT NULL,
    allowed               BOOLEAN NOT NULL DEFAULT TRUE,
    granted_at            TEXT COLLATE "C" NOT NULL,
    expires_at            BIGINT,
    granted_by            TEXT,
    revoked_at            TEXT,
    revoked_by            TEXT,
    metadata              TEXT,
    bound_root_session_id TEXT,
    -- Insertion order (SQLite's rowid).
    seq                   BIGINT GENERATED ALWAYS AS IDENTITY
);
CREATE INDEX idx_grants_workspace ON permission_grants(workspace_id, granted_at);

CREATE TABLE pending_asks (
    request_id   TEXT COLLATE "C" PRIMARY KEY,
    session_id   TEXT COLLATE "C" NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    tool_call_id TEXT NOT NULL,
    request      TEXT NOT NULL,
    status       TEXT NOT NULL DEFAULT 'pending',
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    seq          BIGINT GENERATED ALWAYS AS IDENTITY
);
CREATE INDEX idx_pending_asks_session ON pending_asks(session_id, status);

CREATE TABLE todos (
    session_id TEXT COLLATE "C" PRIMARY KEY REFERENCES sessions(id) ON DELETE CASCADE,
    items      TEXT NOT NULL
);
