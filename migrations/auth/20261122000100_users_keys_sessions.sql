-- Users, their API keys and their login sessions. Owned by the auth service.

CREATE TABLE IF NOT EXISTS users (
    id TEXT PRIMARY KEY,
    -- Trimmed and lower-cased by the service, so the unique index is case-insensitive in effect.
    email TEXT NOT NULL,
    name TEXT NOT NULL,
    -- PHC string (argon2id).
    password_hash TEXT NOT NULL,
    is_admin BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE UNIQUE INDEX IF NOT EXISTS users_email_unique ON users (email);

CREATE TABLE IF NOT EXISTS api_keys (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    -- The key's first characters, shown in listings and used to find the row; never enough to use the key.
    prefix TEXT NOT NULL,
    -- Hex SHA-256 of the whole key: the key itself is never stored.
    key_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT,
    expires_at BIGINT,
    revoked_at BIGINT
);

CREATE UNIQUE INDEX IF NOT EXISTS api_keys_prefix_unique ON api_keys (prefix);
CREATE INDEX IF NOT EXISTS api_keys_by_user ON api_keys (user_id);

CREATE TABLE IF NOT EXISTS sessions (
    -- Also the JWT's `sid` claim.
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT,
    client_ip TEXT NOT NULL DEFAULT '',
    user_agent TEXT NOT NULL DEFAULT ''
);

CREATE INDEX IF NOT EXISTS sessions_by_user ON sessions (user_id);
CREATE INDEX IF NOT EXISTS sessions_by_expiry ON sessions (expires_at);
