//! The `Idempotency-Key` a caller sends with a write that must happen once.

use gpuproxy_errors::ErrorCode;
use http::HeaderMap;

use crate::Error;

/// The longest key accepted, as the services store it.
const MAX_KEY_LENGTH: usize = 255;

/// Returns the `Idempotency-Key` of a request (a REST header, or gRPC metadata as headers), empty
/// when it sent none. A key that is blank, longer than 255 characters or not visible text is
/// refused rather than ignored: a retry without the key the caller meant would happen twice.
pub fn idempotency_key(headers: &HeaderMap) -> Result<String, Error> {
    match headers.get("idempotency-key") {
        None => Ok(String::new()),
        Some(value) => checked(value.to_str().ok()),
    }
}

/// Returns `key` (sent in a body, say) checked as [`idempotency_key`] checks the header.
pub fn checked_key(key: &str) -> Result<String, Error> {
    checked(Some(key))
}

fn checked(key: Option<&str>) -> Result<String, Error> {
    key.map(str::trim)
        .filter(|key| !key.is_empty() && key.len() <= MAX_KEY_LENGTH)
        .map(str::to_owned)
        .ok_or_else(|| {
            Error::new(
                ErrorCode::ValidationFailed,
                "Idempotency-Key must be 1-255 visible characters",
            )
            .with_field("Idempotency-Key")
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("idempotency-key", value.parse().expect("a header value"));
        headers
    }

    #[test]
    fn a_key_is_optional_trimmed_and_at_most_255_characters() {
        assert_eq!(idempotency_key(&HeaderMap::new()).expect("none"), "");
        assert_eq!(idempotency_key(&with(" abc ")).expect("valid"), "abc");
        assert_eq!(
            idempotency_key(&with(&"k".repeat(255))).expect("valid").len(),
            255
        );
        for bad in [" ", &"k".repeat(256)] {
            let refused = idempotency_key(&with(bad)).expect_err("refused");
            assert_eq!(refused.code(), ErrorCode::ValidationFailed);
        }
        assert!(checked_key(&"k".repeat(256)).is_err());
    }
}
