-- Attachments and pinned messages, as migrations/0004_attachments.sql for SQLite.
CREATE TABLE attachments (
    id           TEXT COLLATE "C" PRIMARY KEY,
    session_id   TEXT COLLATE "C" NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    workspace_id TEXT COLLATE "C" NOT NULL,
    kind         TEXT NOT NULL,
    filename     TEXT NOT NULL,
    mime_type    TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size_bytes   BIGINT NOT NULL,
    access_key   TEXT NOT NULL,
    created_at   TEXT COLLATE "C" NOT NULL,
    -- Insertion order (SQLite's rowid).
    seq          BIGINT GENERATED ALWAYS AS IDENTITY
);
CREATE INDEX idx_attachments_session ON attachments(session_id, created_at);

CREATE TABLE pinned_messages (
    id           TEXT COLLATE "C" PRIMARY KEY,
    workspace_id TEXT COLLATE "C" NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    session_id   TEXT COLLATE "C" NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    message_id   TEXT COLLATE "C" NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    created_at   BIGINT NOT NULL,
    seq          BIGINT GENERATED ALWAYS AS IDENTITY,
    UNIQUE (workspace_id, message_id)
);
CREATE INDEX idx_pinned_messages_workspace_created
    ON pinned_messages(workspace_id, created_at DESC);
CREATE INDEX idx_pinned_messages_session ON pinned_messages(session_id);
