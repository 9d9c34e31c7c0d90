//! Stripe PaymentIntents (wire spec: `shared/specs/payments-api.md`, part A): form-encoded requests,
//! `Idempotency-Key` on every create, only PaymentMethod ids.

use futures::FutureExt;
use futures::future::BoxFuture;
use gpuproxy_config::{ExposeSecret, SecretString};
use reqwest::StatusCode;
use serde_json::Value;

use super::http::{error_text, refused};
use super::{Charge, HttpCalls, Outcome, PaymentProcessor, ProcessorError, cents_to_micros};
use crate::method::PaymentMethod;

/// A Stripe account.
#[derive(Debug, Clone)]
pub struct Stripe {
    calls: HttpCalls,
    api_url: String,
    secret_key: SecretString,
}

impl Stripe {
    /// Talks to `api_url` (`STRIPE_API_URL`) with `secret_key`.
    pub fn new(calls: HttpCalls, api_url: &str, secret_key: SecretString) -> Self {
        Stripe {
            calls,
            api_url: api_url.trim_end_matches('/').to_owned(),
            secret_key,
        }
    }

    async fn create(&self, charge: Charge<'_>) -> Result<Outcome, ProcessorError> {
        let PaymentMethod::Card { payment_method } = charge.method else {
            return Err(ProcessorError::Refused(
                "Stripe takes card:pm_… payment methods".to_owned(),
            ));
        };
        let form = {
            let mut form = form_urlencoded::Serializer::new(String::new());
            form.append_pair("amount", &charge.amount_cents.to_string())
                .append_pair("currency", charge.currency)
                .append_pair("payment_method", payment_method)
                .append_pair("confirm", "true")
                .append_pair("payment_method_types[]", "card")
                .append_pair("description", "GPU Proxy credits")
                .append_pair("metadata[user_id]", &charge.user_id.to_string())
                .append_pair("metadata[payment_id]", charge.payment_id);
            if charge.off_session {
                form.append_pair("off_session", "true");
            }
            form.finish()
        };
        let url = format!("{}/v1/payment_intents", self.api_url);
        let (status, json) = self
            .calls
            .send("stripe", || {
                self.calls
                    .client()
                    .post(&url)
                    .bearer_auth(self.secret_key.expose_secret())
                    .header("Idempotency-Key", charge.payment_id)
                    .header(reqwest::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .body(form.clone())
            })
            .await?;
        if status.is_success() {
            return Ok(outcome_of(&json));
        }
        if status == StatusCode::PAYMENT_REQUIRED {
            let reference = json
                .pointer("/error/payment_intent/id")
                .and_then(Value::as_str)
                .map(str::to_owned);
            return Ok(Outcome::Declined {
                reference,
                reason: error_text(&json),
            });
        }
        Err(refused("stripe", status, &json))
    }

    async fn fetch(&self, reference: &str) -> Result<Outcome, ProcessorError> {
        let url = format!("{}/v1/payment_intents/{}", self.api_url, path_segment(reference)?);
        let (status, json) = self
            .calls
            .send("stripe", || {
                self.calls
                    .client()
                    .get(&url)
                    .bearer_auth(self.secret_key.expose_secret())
            })
            .await?;
        if status.is_success() {
            Ok(outcome_of(&json))
        } else {
            Err(refused("stripe", status, &json))
        }
    }
}

impl PaymentProcessor for Stripe {
    fn charge<'a>(&'a self, charge: Charge<'a>) -> BoxFuture<'a, Result<Outcome, ProcessorError>> {
        self.create(charge).boxed()
    }

    fn lookup<'a>(&'a self, reference: &'a str) -> BoxFuture<'a, Result<Outcome, ProcessorError>> {
        self.fetch(reference).boxed()
    }
}

/// Maps a PaymentIntent's status (A4): `succeeded` settles, `requires_payment_method` after an
/// attempt and `canceled` decline, everything else waits for its webhook.
pub fn outcome_of(intent: &Value) -> Outcome {
    let reference = intent
        .get("id")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    match intent.get("status").and_then(Value::as_str).unwrap_or_default() {
        "succeeded" => Outcome::Settled {
            reference,
            received_micros: cents_to_micros(
                intent
                    .get("amount_received")
                    .and_then(Value::as_i64)
                    .unwrap_or_default(),
            ),
        },
        "canceled" => Outcome::Declined {
            reference: Some(reference),
            reason: "the payment was canceled".to_owned(),
        },
        "requires_payment_method" if !intent["last_payment_error"].is_null() => Outcome::Declined {
            reference: Some(reference),
            reason: error_text(&serde_json::json!({"error": intent["last_payment_error"]})),
        },
        _ => Outcome::Pending {
            reference,
            pay_to: String::new(),
            pay_amount: String::new(),
            pay_currency: String::new(),
        },
    }
}

/// Refuses a reference that would change the URL's path.
pub(super) fn path_segment(reference: &str) -> Result<&str, ProcessorError> {
    if !reference.is_empty()
        && reference.len() <= 255
        && reference
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        Ok(reference)
    } else {
        Err(ProcessorError::Refused(
            "malformed processor reference".to_owned(),
        ))
    }
}
