-- Auto-renewal: a debit that takes an auto-renewing account below the low-credit threshold marks a
-- renewal due (in the debit's own transaction, so none is lost to a crash); the renewer charges the
-- user's saved payment method once per mark (the mark is the payment's idempotency key) and clears it.
ALTER TABLE billing_accounts ADD COLUMN renewal_due TEXT;
CREATE INDEX billing_accounts_renewal_due ON billing_accounts (renewal_due) WHERE renewal_due IS NOT NULL;

-- payment (asked for by the user) or renewal (started by auto-renewal).
ALTER TABLE payments ADD COLUMN purpose TEXT NOT NULL DEFAULT 'payment';
