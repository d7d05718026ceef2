-- Host access per user, as migrations/0005_user_host_access.sql for SQLite.
ALTER TABLE users ADD COLUMN host_access BOOLEAN NOT NULL DEFAULT FALSE;
