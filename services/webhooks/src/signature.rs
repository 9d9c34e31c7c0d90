//! How deliveries are signed, so that receivers can tell ours from forgeries and refuse replays.
//!
//! The body is the event envelope with one more member, `signature`: the hex HMAC-SHA256, keyed by
//! the subscription's secret, of the body without that member (the bytes before `,"signature":`
//! followed by `}`). The header `X-GPUProxy-Signature: t=<unix seconds>,v1=<hex>` carries the
//! HMAC-SHA256 of `<t>.<body>` over the whole body as sent, so a receiver can also refuse a body
//! replayed later than it tolerates.

use hmac::{KeyInit, Mac};

/// The header with the timestamped signature.
pub const SIGNATURE_HEADER: &str = "x-gpuproxy-signature";

/// Returns the hex HMAC-SHA256 of `message` under `secret`.
fn hmac_hex(secret: &str, parts: &[&[u8]]) -> String {
    // HMAC takes keys of any length; `new_from_slice` cannot fail for it.
    let mut mac = match hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC accepts keys of any length"),
    };
    for part in parts {
        mac.update(part);
    }
    hex::encode(mac.finalize().into_bytes())
}

/// Returns the body sent for `envelope` (a JSON object's text, as stored at fan-out).
pub fn signed_body(envelope: &str, secret: &str) -> String {
    let signature = hmac_hex(secret, &[envelope.as_bytes()]);
    let open = envelope.trim_end().strip_suffix('}').unwrap_or(envelope);
    format!("{open},\"signature\":\"{signature}\"}}")
}

/// Returns the `X-GPUProxy-Signature` value of `body` sent at `timestamp` (Unix seconds).
pub fn header_value(body: &str, secret: &str, timestamp: i64) -> String {
    let t = timestamp.to_string();
    let signature = hmac_hex(secret, &[t.as_bytes(), b".", body.as_bytes()]);
    format!("t={t},v1={signature}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_body_signature_covers_the_body_without_it() {
        let envelope =
            r#"{"id":"e1","event":"instance.created","timestamp":"2026-12-01T00:00:00Z","data":{"a":1}}"#;
        let body = signed_body(envelope, "s3cret-s3cret-s3cret");
        let value: serde_json::Value = serde_json::from_str(&body).expect("JSON");
        assert_eq!(value["data"]["a"], 1);
        let signature = value["signature"].as_str().expect("signature");
        let unsigned = body.replace(&format!(",\"signature\":\"{signature}\""), "");
        assert_eq!(unsigned, envelope);
        assert_eq!(
            hmac_hex("s3cret-s3cret-s3cret", &[unsigned.as_bytes()]),
            signature
        );
        assert_ne!(
            hmac_hex("another-secret-value", &[unsigned.as_bytes()]),
            signature
        );
    }

    #[test]
    fn the_header_binds_the_timestamp() {
        let one = header_value("{}", "secret", 1_700_000_000);
        assert!(one.starts_with("t=1700000000,v1="), "{one}");
        assert_ne!(one, header_value("{}", "secret", 1_700_000_001));
    }
}
