-- The transactional outbox: a service writes its events here in the same transaction as the state
-- change, and its relay publishes them to the bus afterwards. Shared by every service that publishes;
-- `source` says whose row it is. Portable SQL: TEXT and BIGINT only (see migrations/README.md).
CREATE TABLE IF NOT EXISTS event_outbox (
    id TEXT PRIMARY KEY,
    source TEXT NOT NULL,
    event TEXT NOT NULL,
    payload TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    published_at BIGINT,
    attempts BIGINT NOT NULL DEFAULT 0,
    last_error TEXT
);

CREATE INDEX IF NOT EXISTS event_outbox_pending
    ON event_outbox (source, created_at)
    WHERE published_at IS NULL;
