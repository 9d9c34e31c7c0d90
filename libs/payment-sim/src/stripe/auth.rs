//! The secret-key check of spec A1: `Authorization: Bearer sk_…`, or HTTP Basic with the key as
//! the user name.

use axum::http::{HeaderMap, StatusCode, header};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use subtle::ConstantTimeEq as _;

use crate::stripe::error_body::{ErrorType, StripeError};

/// Returns `Ok` when the request carries `secret_key`, else the 401 Stripe answers.
pub(crate) fn check(headers: &HeaderMap, secret_key: &str) -> Result<(), StripeError> {
    let Some(presented) = presented_key(headers) else {
        return Err(unauthorized(
            "You did not provide an API key. You need to provide your API key in the \
             Authorization header, using Bearer auth (e.g. 'Authorization: Bearer \
             YOUR_SECRET_KEY').",
        ));
    };
    if bool::from(presented.as_bytes().ct_eq(secret_key.as_bytes())) {
        return Ok(());
    }
    Err(unauthorized(&format!(
        "Invalid API Key provided: {}",
        masked(&presented)
    )))
}

fn presented_key(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, credentials) = value.split_once(' ')?;
    if scheme.eq_ignore_ascii_case("bearer") {
        return Some(credentials.trim().to_owned());
    }
    if scheme.eq_ignore_ascii_case("basic") {
        let decoded = STANDARD.decode(credentials.trim()).ok()?;
        let decoded = String::from_utf8(decoded).ok()?;
        let user = decoded.split_once(':').map_or(decoded.as_str(), |(user, _)| user);
        return Some(user.to_owned());
    }
    None
}

/// Returns the key as Stripe echoes it: the prefix, stars, and the last four characters.
fn masked(key: &str) -> String {
    let prefix_len = key.match_indices('_').nth(1).map_or(0, |(at, _)| at + 1);
    let last4_start = key.len().saturating_sub(4).max(prefix_len);
    let prefix = key.get(..prefix_len).unwrap_or_default();
    let last4 = key.get(last4_start..).unwrap_or_default();
    format!("{prefix}****{last4}")
}

fn unauthorized(message: &str) -> StripeError {
    StripeError::new(StatusCode::UNAUTHORIZED, ErrorType::InvalidRequest, message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn with_authorization(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn bearer_and_basic_with_the_key_as_user_are_accepted() {
        let basic = format!("Basic {}", STANDARD.encode("sk_test_abc:"));
        assert!(check(&with_authorization("Bearer sk_test_abc"), "sk_test_abc").is_ok());
        assert!(check(&with_authorization(&basic), "sk_test_abc").is_ok());
    }

    #[test]
    fn a_wrong_key_is_refused_with_only_its_last_four_characters_echoed() {
        let error = check(&with_authorization("Bearer sk_test_wrongkey1234"), "sk_test_abc").unwrap_err();
        assert_eq!(error.status, StatusCode::UNAUTHORIZED);
        assert_eq!(
            error.body()["error"]["message"],
            "Invalid API Key provided: sk_test_****1234"
        );
        assert!(check(&HeaderMap::new(), "sk_test_abc").is_err());
    }
}
