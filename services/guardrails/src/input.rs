//! Checks of what callers send (amounts, idempotency keys) and the store keys made from them.

use gpuproxy_domain::{UsdMicros, UserId};

use crate::error::Error;

/// The largest single amount accepted: a million dollars.
const MAX_AMOUNT_MICROS: i64 = 1_000_000_000_000;

/// Returns the key of the user's spending ledger.
pub fn key(user_id: UserId) -> String {
    format!("guardrails:spend:{user_id}")
}

/// Returns the key remembering the answer to one idempotency key.
pub fn idempotency(user_id: UserId, idempotency_key: &str) -> Result<String, Error> {
    if idempotency_key.len() > 256 {
        return Err(Error::invalid(
            "idempotency_key",
            "must be at most 256 characters",
        ));
    }
    Ok(format!("guardrails:idempotency:{user_id}:{idempotency_key}"))
}

/// Returns the amount in micro-dollars, refusing one that is not positive or over a million dollars.
pub fn checked_amount(amount: UsdMicros) -> Result<i64, Error> {
    let micros = amount.micros();
    if micros <= 0 || micros > MAX_AMOUNT_MICROS {
        return Err(Error::invalid(
            "amount",
            "must be more than $0 and at most $1,000,000",
        ));
    }
    Ok(micros)
}
