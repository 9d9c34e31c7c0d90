//! The `x-api-key` check (spec B1).

use axum::http::{HeaderMap, StatusCode};
use subtle::ConstantTimeEq as _;

use crate::nowpayments::errors::NowPaymentsError;

/// Returns `Ok` when the request carries `api_key`, else `403 INVALID_API_KEY`.
pub(crate) fn check(headers: &HeaderMap, api_key: &str) -> Result<(), NowPaymentsError> {
    let presented = headers
        .get("x-api-key")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    if bool::from(presented.as_bytes().ct_eq(api_key.as_bytes())) {
        return Ok(());
    }
    Err(NowPaymentsError {
        status: StatusCode::FORBIDDEN,
        code: "INVALID_API_KEY",
        message: "Invalid api key".to_owned(),
    })
}
