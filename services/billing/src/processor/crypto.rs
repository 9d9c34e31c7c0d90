//! A NOWPayments-style crypto processor (wire spec part B): a payment with a pay-to address, settled
//! when the processor reports it `finished`. Its callbacks carry no timestamp, so they are only a hint:
//! the payment is looked up before anything is credited.

use futures::FutureExt;
use futures::future::BoxFuture;
use gpuproxy_config::{ExposeSecret, SecretString};
use serde_json::{Value, json};

use super::http::refused;
use super::stripe::path_segment;
use super::{Charge, HttpCalls, Outcome, PaymentProcessor, ProcessorError};
use crate::method::PaymentMethod;

/// A crypto processor account.
#[derive(Debug, Clone)]
pub struct Crypto {
    calls: HttpCalls,
    api_url: String,
    api_key: SecretString,
}

impl Crypto {
    /// Talks to `api_url` (`CRYPTO_API_URL`, ending in `/v1`) with `api_key`.
    pub fn new(calls: HttpCalls, api_url: &str, api_key: SecretString) -> Self {
        Crypto {
            calls,
            api_url: api_url.trim_end_matches('/').to_owned(),
            api_key,
        }
    }

    async fn create(&self, charge: Charge<'_>) -> Result<Outcome, ProcessorError> {
        let PaymentMethod::Crypto { pay_currency, .. } = charge.method else {
            return Err(ProcessorError::Refused(
                "crypto takes crypto:network:wallet methods".to_owned(),
            ));
        };
        let mut body = json!({
            "price_amount": cents_to_dollars(charge.amount_cents),
            "price_currency": charge.currency,
            "pay_currency": pay_currency,
            "order_id": charge.payment_id,
            "order_description": "GPU Proxy credits",
            "is_fixed_rate": false,
            "is_fee_paid_by_user": false,
        });
        if let Some(callback) = charge.callback_url {
            body["ipn_callback_url"] = Value::String(callback.to_owned());
        }
        let url = format!("{}/payment", self.api_url);
        // The processor has no idempotency key; a retried create at worst leaves an unpaid
        // invoice, and callbacks are matched by our order id.
        let (status, json) = self
            .calls
            .send("crypto processor", || {
                self.calls
                    .client()
                    .post(&url)
                    .header("x-api-key", self.api_key.expose_secret())
                    .json(&body)
            })
            .await?;
        if !status.is_success() {
            return Err(refused("the crypto processor", status, &json));
        }
        Ok(outcome_of(&json).unwrap_or_else(|| pending(&json)))
    }

    async fn fetch(&self, reference: &str) -> Result<Outcome, ProcessorError> {
        let url = format!("{}/payment/{}", self.api_url, path_segment(reference)?);
        let (status, json) = self
            .calls
            .send("crypto processor", || {
                self.calls
                    .client()
                    .get(&url)
                    .header("x-api-key", self.api_key.expose_secret())
            })
            .await?;
        if !status.is_success() {
            return Err(refused("the crypto processor", status, &json));
        }
        Ok(outcome_of(&json).unwrap_or_else(|| pending(&json)))
    }
}

impl PaymentProcessor for Crypto {
    fn charge<'a>(&'a self, charge: Charge<'a>) -> BoxFuture<'a, Result<Outcome, ProcessorError>> {
        self.create(charge).boxed()
    }

    fn lookup<'a>(&'a self, reference: &'a str) -> BoxFuture<'a, Result<Outcome, ProcessorError>> {
        self.fetch(reference).boxed()
    }
}

/// Maps a terminal status (B3): `finished` settles at the fiat price; `failed`, `expired` and
/// `refunded` decline. `None` while the payment is still on its way (`partially_paid` included:
/// an under-payment is not credited until the rest arrives).
fn outcome_of(payment: &Value) -> Option<Outcome> {
    let reference = text(&payment["payment_id"]);
    match payment["payment_status"].as_str().unwrap_or_default() {
        "finished" => Some(Outcome::Settled {
            reference,
            received_micros: dollars_to_micros(&payment["price_amount"])?,
        }),
        status @ ("failed" | "expired" | "refunded") => Some(Outcome::Declined {
            reference: Some(reference),
            reason: format!("the crypto payment is {status}"),
        }),
        _ => None,
    }
}

/// A payment still on its way, with where and how much to pay.
fn pending(payment: &Value) -> Outcome {
    Outcome::Pending {
        reference: text(&payment["payment_id"]),
        pay_to: text(&payment["pay_address"]),
        pay_amount: text(&payment["pay_amount"]),
        pay_currency: text(&payment["pay_currency"]),
    }
}

/// Ids and amounts come as strings in some answers and numbers in others (B2).
fn text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Number(number) => number.to_string(),
        _ => String::new(),
    }
}

/// The processor speaks fiat as a JSON number (the edge where a double is fixed by the wire).
fn cents_to_dollars(cents: i64) -> f64 {
    #[expect(
        clippy::cast_precision_loss,
        reason = "amounts are bounded far below 2^52 cents"
    )]
    let dollars = cents as f64 / 100.0;
    dollars
}

fn dollars_to_micros(value: &Value) -> Option<i64> {
    let dollars = value.as_f64().or_else(|| value.as_str()?.parse().ok())?;
    if !dollars.is_finite() || dollars <= 0.0 || dollars > 1_000_000.0 {
        return None;
    }
    #[expect(
        clippy::cast_possible_truncation,
        reason = "bounded to a million dollars above"
    )]
    let micros = (dollars * 100.0).round() as i64 * 10_000;
    Some(micros)
}

/// Returns whether `signature` is the processor's HMAC-SHA512 over the key-sorted compact JSON of
/// `body` (B4). `serde_json`'s default map is ordered, so re-serialising sorts keys at every level.
pub fn verify_ipn(secret: &SecretString, body: &[u8], signature: &str) -> bool {
    use hmac::{KeyInit, Mac};
    let Ok(parsed) = serde_json::from_slice::<Value>(body) else {
        return false;
    };
    let Ok(sorted) = serde_json::to_string(&parsed) else {
        return false;
    };
    let Ok(mut mac) = hmac::Hmac::<sha2::Sha512>::new_from_slice(secret.expose_secret().as_bytes()) else {
        return false;
    };
    mac.update(sorted.as_bytes());
    let Ok(given) = hex::decode(signature.trim()) else {
        return false;
    };
    mac.verify_slice(&given).is_ok()
}
