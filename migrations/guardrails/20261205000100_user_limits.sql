-- Per-user overrides of the guard rails' window limits, set by admins. A window without a row keeps
-- the global GUARDRAILS_MAX_<W>_RATE; a row with limit_micros = 0 turns that window off for the user.

CREATE TABLE guardrail_user_limits (
    user_id TEXT NOT NULL,
    -- "5min" … "1440min", "48h", "72h".
    spend_window TEXT NOT NULL,
    limit_micros BIGINT NOT NULL,
    -- The admin who set it, for the audit trail.
    set_by TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, spend_window)
);
