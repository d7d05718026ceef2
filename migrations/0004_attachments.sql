-- Files attached to messages (PROTOCOL-AGENT.md §12) and pinned messages (§16 item 10). The
-- attachment's bytes live under <data dir>/attachments/, at a path made from server-chosen
-- names only (never from a client's file name), so no path is stored here.
CREATE TABLE IF NOT EXISTS attachments (
    id           TEXT PRIMARY KEY,
    session_id   TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    workspace_id TEXT NOT NULL,
    kind         TEXT NOT NULL,
    filename     TEXT NOT NULL,
    mime_type    TEXT NOT NULL,
    -- What the content route answers as Content-Type: sniffed from the bytes at upload.
    content_type TEXT NOT NULL,
    size_bytes   INTEGER NOT NULL,
    access_key   TEXT NOT NULL,
    created_at   TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS idx_attachments_session ON attachments(session_id, created_at);

CREATE TABLE IF NOT EXISTS pinned_messages (
    id           TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    session_id   TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    message_id   TEXT NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    created_at   INTEGER NOT NULL,
    UNIQUE (workspace_id, message_id)
);
CREATE INDEX IF NOT EXISTS idx_pinned_messages_workspace_created
    ON pinned_messages(workspace_id, created_at DESC);
CREATE INDEX IF NOT EXISTS idx_pinned_messages_session ON pinned_messages(session_id);
