-- Host access per user (issue 11 item 4): an OAuth user's agent is confined to their virtual
-- workspace (no shell, no path outside it) unless the server owner turns this on with
-- `jean2 users allow-host <email>`.
ALTER TABLE users ADD COLUMN host_access INTEGER NOT NULL DEFAULT 0;
