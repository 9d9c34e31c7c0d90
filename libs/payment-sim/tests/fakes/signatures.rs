//! The signature helpers against vectors computed outside Rust (Python's `hmac` and `json`).

use gpuproxy_payment_sim::{nowpayments_signature, stripe_signature};
use serde_json::json;

#[test]
fn stripe_signature_matches_an_independently_computed_hmac_sha256() {
    // python3: hmac.new(b"whsec_test_secret", b"1700000000." + body, hashlib.sha256).hexdigest()
    let header = stripe_signature(
        "whsec_test_secret",
        1_700_000_000,
        br#"{"id":"evt_1","object":"event"}"#,
    );
    assert_eq!(
        header,
        "t=1700000000,v1=0c8670ed117751cc551a20e35839447075c42800ea3cf3e8a2fbda99cd1e6edd"
    );
}

#[test]
fn nowpayments_signature_matches_an_independently_computed_hmac_sha512_over_sorted_json() {
    // python3: json.dumps(obj, sort_keys=True, separators=(",", ":")) signed with HMAC-SHA512.
    let body = json!({
        "payment_status": "finished",
        "payment_id": 5745459419_u64,
        "fee": {"serviceFee": 0.1, "currency": "btc"},
        "order_id": "topup-42",
    });
    assert_eq!(
        nowpayments_signature("ipn_test_secret", &body),
        "09405533039961159bc8b5071744778992a397dcb3e229c1e3de76dc817db643\
         5b6e1b6a462ac3ec2766e68e70be4bdca0d06631cdc4af00b1e9b2c056f22d8f"
    );
}
