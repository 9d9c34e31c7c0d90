-- The billing service: an append-only credit ledger in micro-dollars, payments and metered usage.
-- A user's balance is the sum of their ledger entries; billing_accounts keeps that sum (written in the
-- same transaction as every entry) so that a debit can be refused atomically at the overage cap.

CREATE TABLE billing_accounts (
    user_id TEXT PRIMARY KEY,
    -- The sum of the user's credit_entries.
    balance_micros BIGINT NOT NULL DEFAULT 0,
    -- The sum of the user's positive entries: credits_total.
    credited_micros BIGINT NOT NULL DEFAULT 0,
    -- The most the balance may go below zero (credits_cap).
    cap_micros BIGINT NOT NULL,
    auto_renew BIGINT NOT NULL DEFAULT 0,
    auto_renew_amount_micros BIGINT NOT NULL DEFAULT 0,
    updated_at BIGINT NOT NULL
);

CREATE TABLE credit_entries (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    -- payment, admin_credit, usage, renewal
    kind TEXT NOT NULL,
    -- Positive credits, negative debits.
    amount_micros BIGINT NOT NULL,
    balance_after_micros BIGINT NOT NULL,
    -- The payment, usage record or admin reason the entry stands for.
    reference TEXT NOT NULL,
    description TEXT NOT NULL,
    idempotency_key TEXT,
    created_at BIGINT NOT NULL
);

CREATE UNIQUE INDEX credit_entries_idempotency ON credit_entries (user_id, idempotency_key)
    WHERE idempotency_key IS NOT NULL;
CREATE INDEX credit_entries_by_user ON credit_entries (user_id, created_at);

CREATE TABLE usage_records (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    -- instance (metered run time) or request (a proxied or inference request)
    kind TEXT NOT NULL,
    client_id TEXT NOT NULL,
    client_ip TEXT NOT NULL,
    instance_id TEXT NOT NULL,
    started_at BIGINT NOT NULL,
    duration_ms BIGINT NOT NULL,
    cost_micros BIGINT NOT NULL,
    description TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE UNIQUE INDEX usage_records_idempotency ON usage_records (user_id, idempotency_key);
CREATE INDEX usage_records_by_user ON usage_records (user_id, created_at);

CREATE TABLE payments (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    -- stripe, crypto, afterdark
    provider TEXT NOT NULL,
    amount_micros BIGINT NOT NULL,
    currency TEXT NOT NULL,
    -- A processor token (pm_…) or crypto network:wallet; never card data.
    payment_method TEXT NOT NULL,
    -- pending, completed, failed
    status TEXT NOT NULL,
    provider_reference TEXT,
    pay_to TEXT,
    pay_amount TEXT,
    pay_currency TEXT,
    failure_reason TEXT,
    idempotency_key TEXT NOT NULL,
    -- provider, amount, currency and method of the first request with this key.
    fingerprint TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    settled_at BIGINT
);

CREATE UNIQUE INDEX payments_idempotency ON payments (user_id, idempotency_key);
CREATE UNIQUE INDEX payments_by_reference ON payments (provider, provider_reference)
    WHERE provider_reference IS NOT NULL;
CREATE INDEX payments_by_user ON payments (user_id, created_at);
CREATE INDEX payments_by_status ON payments (status, created_at);

-- Webhook events already acted on: a replayed event id changes nothing.
CREATE TABLE processed_webhooks (
    provider TEXT NOT NULL,
    event_id TEXT NOT NULL,
    received_at BIGINT NOT NULL,
    PRIMARY KEY (provider, event_id)
);
