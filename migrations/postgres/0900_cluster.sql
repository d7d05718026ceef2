-- What several jean2 instances on one database share beyond the data (PostgreSQL only; one
-- SQLite server keeps it in memory): who is alive, which instance runs each session's turns,
-- and event bodies too large for a NOTIFY payload.
CREATE TABLE instances (
    id           TEXT COLLATE "C" PRIMARY KEY,
    started_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    heartbeat_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- The lease of a session's runner: at most one instance runs a session's turns. `wake` is
-- bumped by every message queued behind it, so the runner can tell whether the queue changed
-- between its last look and giving the lease up.
CREATE TABLE session_runners (
    session_id  TEXT COLLATE "C" PRIMARY KEY REFERENCES sessions(id) ON DELETE CASCADE,
    instance_id TEXT COLLATE "C" NOT NULL,
    wake        BIGINT NOT NULL DEFAULT 0,
    since       TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX idx_session_runners_instance ON session_runners(instance_id);

CREATE TABLE event_payloads (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    body       TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
