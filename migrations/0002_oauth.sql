-- OAuth 2.1: people, applications, their keys, and every token's server-side record.
-- Secrets (passwords, client secrets, API keys, codes, refresh tokens, sign-in sessions) are
-- stored only as hashes. Times are Unix milliseconds unless the column is *_at TEXT (ISO-8601).

CREATE TABLE IF NOT EXISTS users (
    id             TEXT PRIMARY KEY,             -- UUID, permanent, never reused
    email          TEXT NOT NULL,
    email_norm     TEXT NOT NULL UNIQUE,         -- lower-cased, for case-insensitive uniqueness
    email_verified INTEGER NOT NULL DEFAULT 0,
    password_hash  TEXT,                         -- argon2id PHC string; NULL for outside-provider users
    disabled       INTEGER NOT NULL DEFAULT 0,
    created_at     TEXT NOT NULL
);

-- Sign-in identities: (issuer, subject) → user. Local passwords use issuer 'local', subject = user id.
CREATE TABLE IF NOT EXISTS identities (
    issuer     TEXT NOT NULL,
    subject    TEXT NOT NULL,
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    email      TEXT,
    created_at TEXT NOT NULL,
    PRIMARY KEY (issuer, subject)
);
CREATE INDEX IF NOT EXISTS idx_identities_user ON identities(user_id);

CREATE TABLE IF NOT EXISTS apps (
    id           TEXT PRIMARY KEY,               -- the client_id
    name         TEXT NOT NULL,
    confidential INTEGER NOT NULL DEFAULT 0,
    secret_hash  TEXT,                           -- SHA-256 hex of the client secret (confidential only)
    scopes       TEXT NOT NULL,                  -- space-separated
    revoked      INTEGER NOT NULL DEFAULT 0,
    created_at   TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS app_redirect_uris (
    app_id TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
    uri    TEXT NOT NULL,
    PRIMARY KEY (app_id, uri)
);

CREATE TABLE IF NOT EXISTS api_keys (
    id         TEXT PRIMARY KEY,
    app_id     TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
    key_hash   TEXT NOT NULL UNIQUE,             -- SHA-256 hex of the whole key
    prefix     TEXT NOT NULL,                    -- first characters, to tell keys apart in listings
    created_at TEXT NOT NULL,
    expires_at INTEGER,
    revoked    INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS idx_api_keys_app ON api_keys(app_id);

-- Remembered consent: the next authorization for these scopes skips the consent page.
CREATE TABLE IF NOT EXISTS grants (
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    app_id     TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
    scopes     TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (user_id, app_id)
);

CREATE TABLE IF NOT EXISTS auth_codes (
    code_hash      TEXT PRIMARY KEY,
    app_id         TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
    user_id        TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    redirect_uri   TEXT NOT NULL,
    code_challenge TEXT NOT NULL,
    scope          TEXT NOT NULL,
    expires_at     INTEGER NOT NULL,
    used_at        INTEGER,
    family_id      TEXT                          -- the refresh family its first use issued
);

-- One family per authorization: every refresh token rotated from it, revoked together.
CREATE TABLE IF NOT EXISTS refresh_families (
    id         TEXT PRIMARY KEY,
    app_id     TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    scope      TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,                 -- absolute lifetime
    revoked_at INTEGER
);

CREATE TABLE IF NOT EXISTS refresh_tokens (
    token_hash TEXT PRIMARY KEY,
    family_id  TEXT NOT NULL REFERENCES refresh_families(id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    used_at    INTEGER
);
CREATE INDEX IF NOT EXISTS idx_refresh_tokens_family ON refresh_tokens(family_id);

-- Access tokens (JWTs) and families revoked before they expire: jti or family id.
CREATE TABLE IF NOT EXISTS revoked_tokens (
    id         TEXT PRIMARY KEY,
    expires_at INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS signing_keys (
    kid        TEXT PRIMARY KEY,
    pkcs8      BLOB NOT NULL,                    -- Ed25519 private key (PKCS#8 v2)
    public_key BLOB NOT NULL,                    -- 32 raw bytes
    created_at INTEGER NOT NULL,
    retired_at INTEGER                           -- set when a newer key took over
);

CREATE TABLE IF NOT EXISTS app_usage (
    app_id   TEXT NOT NULL,
    day      TEXT NOT NULL,                      -- YYYY-MM-DD (UTC)
    requests INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (app_id, day)
);

CREATE TABLE IF NOT EXISTS login_sessions (
    id_hash    TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
