//! IPN delivery (spec B4): the payment object as JSON, signed in `x-nowpayments-sig`.

use anyhow::Context as _;
use serde_json::Value;

use crate::canonical_json::sorted_compact;
use crate::nowpayments::shared::NowPaymentsShared;
use crate::signature::nowpayments_signature;

/// POSTs `body` to `url` signed with `secret`; returns the receiver's status.
///
/// The body goes out as sorted compact JSON, the very string that was signed, so a receiver that
/// verifies the raw bytes and one that re-sorts the parsed body both succeed.
pub(crate) async fn deliver(
    now: &NowPaymentsShared,
    url: &str,
    secret: &str,
    body: &Value,
) -> anyhow::Result<u16> {
    let response = now
        .http
        .post(url)
        .header("content-type", "application/json")
        .header("x-nowpayments-sig", nowpayments_signature(secret, body))
        .body(sorted_compact(body))
        .send()
        .await
        .with_context(|| format!("delivering the IPN to {url}"))?;
    Ok(response.status().as_u16())
}
