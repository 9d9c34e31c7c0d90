-- Holds: credits set aside for spending that has started but is not yet recorded (an hour of the GPUs
-- being rented), so that concurrent admissions see each other. billing_accounts.held_micros is the sum
-- of remaining_micros over the user's holds, written in the same transaction as every change to them.
ALTER TABLE billing_accounts ADD COLUMN held_micros BIGINT NOT NULL DEFAULT 0;

CREATE TABLE credit_holds (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    amount_micros BIGINT NOT NULL,
    -- What usage recorded under the hold has not yet taken, and no release has returned.
    remaining_micros BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);

-- The sweep of expired holds with something left.
CREATE INDEX credit_holds_expiring ON credit_holds (expires_at) WHERE remaining_micros > 0;
