//! Wall-clock readings in the units the processors put on the wire.

use std::time::{SystemTime, UNIX_EPOCH};

/// Returns the current Unix time in seconds (Stripe's `created`, the signature `t`).
pub(crate) fn unix_seconds() -> i64 {
    i64::try_from(since_epoch().as_secs()).unwrap_or(i64::MAX)
}

/// Returns the current Unix time in milliseconds (NOWPayments' IPN `updated_at`).
pub(crate) fn unix_millis() -> i64 {
    i64::try_from(since_epoch().as_millis()).unwrap_or(i64::MAX)
}

/// Returns the current time as NOWPayments writes it: `2025-01-15T12:00:00.000Z`.
pub(crate) fn iso8601_millis() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// Returns `minutes` from now, formatted like [`iso8601_millis`].
pub(crate) fn iso8601_millis_in(minutes: i64) -> String {
    (chrono::Utc::now() + chrono::Duration::minutes(minutes))
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}

fn since_epoch() -> std::time::Duration {
    // A clock before 1970 is a broken host; zero keeps the fakes answering.
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default()
}
