-- The inference service: users' models (one row per uploaded version, served from its artifact in
-- object storage) and every upload started, which the hourly and daily upload limits count.
-- Portable SQL: TEXT and BIGINT only.

CREATE TABLE models (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    name TEXT NOT NULL,
    -- 1 for a name's first upload, then one more each time.
    version BIGINT NOT NULL,
    format TEXT NOT NULL,
    runtime TEXT NOT NULL,
    -- ready
    status TEXT NOT NULL,
    size_bytes BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    -- Where the artifact is in object storage.
    artifact_key TEXT NOT NULL,
    filename TEXT NOT NULL,
    -- JSON: {"inputs": [{name, datatype, shape}], "outputs": [...]}.
    signature TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE UNIQUE INDEX models_by_name ON models (user_id, name, version);
CREATE INDEX models_by_user ON models (user_id, created_at);

CREATE TABLE model_uploads (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    started_at BIGINT NOT NULL
);

CREATE INDEX model_uploads_by_user ON model_uploads (user_id, started_at);
