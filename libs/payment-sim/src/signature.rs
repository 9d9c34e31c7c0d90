//! The webhook signatures of Stripe (spec A6) and NOWPayments (spec B4), for the fakes to sign
//! with and for tests to build valid (or deliberately wrong) headers.

use hmac::{Hmac, KeyInit, Mac};
use serde_json::Value;
use sha2::{Sha256, Sha512};

use crate::canonical_json::sorted_compact;

/// Returns the `Stripe-Signature` header value `t=<timestamp>,v1=<hex>` for `body` signed with
/// the endpoint secret (`whsec_…`): HMAC-SHA256 over `"<timestamp>.<body>"`.
pub fn stripe_signature(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let mut message = format!("{timestamp}.").into_bytes();
    message.extend_from_slice(body);
    let v1 = hmac_hex::<Hmac<Sha256>>(secret.as_bytes(), &message);
    format!("t={timestamp},v1={v1}")
}

/// Returns the `x-nowpayments-sig` value for `body`: lowercase hex HMAC-SHA512, keyed with the IPN
/// secret, over the body's compact JSON with object keys sorted recursively.
pub fn nowpayments_signature(ipn_secret: &str, body: &Value) -> String {
    hmac_hex::<Hmac<Sha512>>(ipn_secret.as_bytes(), sorted_compact(body).as_bytes())
}

fn hmac_hex<M: Mac + KeyInit>(key: &[u8], message: &[u8]) -> String {
    match <M as KeyInit>::new_from_slice(key) {
        Ok(mut mac) => {
            mac.update(message);
            hex::encode(mac.finalize().into_bytes())
        }
        // HMAC takes keys of any length (RFC 2104), so this arm never runs; an empty signature
        // would only make verification fail.
        Err(_) => String::new(),
    }
}
