-- The webhooks service: users' subscriptions to domain events, and one row per (subscription, event)
-- that is due, delivered or dead-lettered. The unique pair is what keeps an event that the stream
-- delivers twice from reaching a receiver twice. Portable SQL: TEXT and BIGINT only.

CREATE TABLE webhook_subscriptions (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    url TEXT NOT NULL,
    -- JSON array of event names or patterns (`instance.*`).
    events TEXT NOT NULL,
    -- all (POST /webhooks) or billing (POST /webhooks/billing)
    kind TEXT NOT NULL,
    -- 1: every user's events (admins only).
    all_users BIGINT NOT NULL DEFAULT 0,
    description TEXT NOT NULL,
    -- Needed in the clear to sign each delivery; shown to the user once, never listed.
    secret TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE INDEX webhook_subscriptions_by_user ON webhook_subscriptions (user_id);

CREATE TABLE webhook_deliveries (
    id TEXT PRIMARY KEY,
    subscription_id TEXT NOT NULL,
    event_id TEXT NOT NULL,
    event TEXT NOT NULL,
    -- The envelope {id, event, timestamp, data} as first serialised; every attempt sends these bytes.
    payload TEXT NOT NULL,
    -- pending, delivered, dead
    status TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    last_status BIGINT NOT NULL DEFAULT 0,
    last_error TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    -- When the next attempt may start; while an attempt runs, the end of its lease.
    next_attempt_at BIGINT NOT NULL,
    delivered_at BIGINT
);

CREATE UNIQUE INDEX webhook_deliveries_once ON webhook_deliveries (subscription_id, event_id);
-- A subscription's due deliveries: the sender's one question, always asked per subscription. There
-- is deliberately no index on status alone: during a backlog, with statistics not yet caught up,
-- PostgreSQL would pick it for the claim's UPDATE … WHERE id IN (…) and scan every pending row.
CREATE INDEX webhook_deliveries_due_by_subscription ON webhook_deliveries (subscription_id, status, next_attempt_at);
CREATE INDEX webhook_deliveries_by_subscription ON webhook_deliveries (subscription_id, created_at);
