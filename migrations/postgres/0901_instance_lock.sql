-- The key of the session-level advisory lock each instance holds while it lives (on the
-- connection that listens for the other instances): NULL until it has taken it. An instance
-- whose lock is gone (its process died, its connection closed) is dead at once.
ALTER TABLE instances ADD COLUMN lock_key BIGINT;
