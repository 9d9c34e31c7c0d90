-- Reservations, the instances rented for users, and each user's load-balancing strategy.
-- An instance row is written BEFORE the provider is asked to rent (status 'creating'), and the rent
-- carries the row's id as its provider-side label, so that a crash between the two can be reconciled.

CREATE TABLE reservations (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    requested BIGINT NOT NULL,
    idempotency_key TEXT,
    -- JSON array of strings: one line per slot that could not be filled.
    errors TEXT NOT NULL DEFAULT '[]',
    created_at BIGINT NOT NULL
);

CREATE UNIQUE INDEX reservations_idempotency ON reservations (user_id, idempotency_key)
    WHERE idempotency_key IS NOT NULL;
CREATE INDEX reservations_by_user ON reservations (user_id, created_at);

CREATE TABLE instances (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    reservation_id TEXT,
    provider TEXT NOT NULL,
    offer_id TEXT NOT NULL,
    -- NULL while the rent is in flight.
    provider_instance_id TEXT,
    -- creating, pending, loading, running, destroying, terminated, failed
    status TEXT NOT NULL,
    gpu_model TEXT NOT NULL,
    vram_gb BIGINT NOT NULL,
    num_gpus BIGINT NOT NULL,
    price_micros BIGINT NOT NULL,
    location TEXT NOT NULL,
    -- http://host:port of the first exposed port, once running.
    endpoint TEXT,
    -- JSON {image, ports, disk_gb}; environment values are never stored (they may hold secrets).
    config TEXT NOT NULL,
    autostop_minutes BIGINT NOT NULL DEFAULT 0,
    idempotency_key TEXT,
    reason TEXT,
    created_at BIGINT NOT NULL,
    running_at BIGINT,
    last_used_at BIGINT,
    ended_at BIGINT
);

CREATE UNIQUE INDEX instances_by_provider_id ON instances (provider, provider_instance_id)
    WHERE provider_instance_id IS NOT NULL;
CREATE UNIQUE INDEX instances_idempotency ON instances (user_id, idempotency_key)
    WHERE idempotency_key IS NOT NULL;
CREATE INDEX instances_by_user ON instances (user_id, status);
CREATE INDEX instances_by_status ON instances (status);
CREATE INDEX instances_by_reservation ON instances (reservation_id);

CREATE TABLE lb_strategies (
    user_id TEXT PRIMARY KEY,
    strategy TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- This database's installation id, part of every provider-side label, so that deployments sharing
-- a provider account never reconcile each other's instances.
CREATE TABLE reservation_installation (
    singleton BIGINT PRIMARY KEY,
    id TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
