-- OAuth 2.1, as migrations/0002_oauth.sql for SQLite (secrets as hashes only; times in Unix
-- milliseconds unless the column is *_at TEXT).
CREATE TABLE users (
    id             TEXT COLLATE "C" PRIMARY KEY,
    email          TEXT NOT NULL,
    email_norm     TEXT COLLATE "C" NOT NULL UNIQUE,
    email_verified BOOLEAN NOT NULL DEFAULT FALSE,
    password_hash  TEXT,
    disabled       BOOLEAN NOT NULL DEFAULT FALSE,
    created_at     TEXT COLLATE "C" NOT NULL
);

CREATE TABLE identities (
    issuer     TEXT COLLATE "C" NOT NULL,
    subject    TEXT COLLATE "C" NOT NULL,
    user_id    TEXT COLLATE "C" NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    email      TEXT,
    created_at TEXT NOT NULL,
    PRIMARY KEY (issuer, subject)
);
CREATE INDEX idx_identities_user ON identities(user_id);

CREATE TABLE apps (
    id           TEXT COLLATE "C" PRIMARY KEY,
    name         TEXT NOT NULL,
    confidential BOOLEAN NOT NULL DEFAULT FALSE,
    secret_hash  TEXT,
    scopes       TEXT NOT NULL,
    revoked      BOOLEAN NOT NULL DEFAULT FALSE,
    created_at   TEXT COLLATE "C" NOT NULL
);

CREATE TABLE app_redirect_uris (
    app_id TEXT COLLATE "C" NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
    uri    TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (app_id, uri)
);

CREATE TABLE api_keys (
    id         TEXT COLLATE "C" PRIMARY KEY,
    app_id     TEXT COLLATE "C" NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
    key_hash   TEXT COLLATE "C" NOT NULL UNIQUE,
    prefix     TEXT NOT NULL,
    created_at TEXT COLLATE "C" NOT NULL,
    expires_at BIGINT,
    revoked    BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX idx_api_keys_app ON api_keys(app_id);

CREATE TABLE grants (
    user_id    TEXT COLLATE "C" NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    app_id     TEXT COLLATE "C" NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
    scopes     TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (user_id, app_id)
);

CREATE TABLE auth_codes (
    code_hash      TEXT COLLATE "C" PRIMARY KEY,
    app_id         TEXT COLLATE "C" NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
    user_id        TEXT COLLATE "C" NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    redirect_uri   TEXT NOT NULL,
    code_challenge TEXT NOT NULL,
    scope          TEXT NOT NULL,
    expires_at     BIGINT NOT NULL,
    used_at        BIGINT,
    family_id      TEXT
);

CREATE TABLE refresh_families (
    id         TEXT COLLATE "C" PRIMARY KEY,
    app_id     TEXT COLLATE "C" NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
    user_id    TEXT COLLATE "C" NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    scope      TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT
);

CREATE TABLE refresh_tokens (
    token_hash TEXT COLLATE "C" PRIMARY KEY,
    family_id  TEXT COLLATE "C" NOT NULL REFERENCES refresh_families(id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    used_at    BIGINT
);
CREATE INDEX idx_refresh_tokens_family ON refresh_tokens(family_id);

CREATE TABLE revoked_tokens (
    id         TEXT COLLATE "C" PRIMARY KEY,
    expires_at BIGINT NOT NULL
);

CREATE TABLE signing_keys (
    kid        TEXT COLLATE "C" PRIMARY KEY,
    pkcs8      BYTEA NOT NULL,
    public_key BYTEA NOT NULL,
    created_at BIGINT NOT NULL,
    retired_at BIGINT
);

CREATE TABLE app_usage (
    app_id   TEXT COLLATE "C" NOT NULL,
    day      TEXT COLLATE "C" NOT NULL,
    requests BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (app_id, day)
);

CREATE TABLE login_sessions (
    id_hash    TEXT COLLATE "C" PRIMARY KEY,
    user_id    TEXT COLLATE "C" NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
