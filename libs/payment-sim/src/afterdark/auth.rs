//! The `Authorization: Bearer <api key>` check.

use axum::http::{HeaderMap, StatusCode, header};
use subtle::ConstantTimeEq as _;

use crate::afterdark::errors::AfterDarkError;

/// Returns `Ok` when the request carries `api_key` as a bearer token, else `401 unauthorized`.
pub(crate) fn check(headers: &HeaderMap, api_key: &str) -> Result<(), AfterDarkError> {
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim());
    match presented {
        Some(token) if bool::from(token.as_bytes().ct_eq(api_key.as_bytes())) => Ok(()),
        Some(_) => Err(unauthorized("invalid api key")),
        None => Err(unauthorized(
            "missing api key: send Authorization: Bearer <api key>",
        )),
    }
}

fn unauthorized(message: &str) -> AfterDarkError {
    AfterDarkError::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
}
