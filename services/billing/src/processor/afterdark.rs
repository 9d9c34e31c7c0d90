//! The AfterDark billing API: a generic HTTP charge API with an API key. Its contract (ours; it has
//! no public spec) is documented in the README and followed by the test fake:
//! `POST /v1/charges` (Bearer key, `Idempotency-Key`, JSON `{amount (cents), currency, customer,
//! reference, description}`) → `{id, status: succeeded|failed|pending, failure_message, …}`,
//! `GET /v1/charges/{id}`.

use futures::FutureExt;
use futures::future::BoxFuture;
use gpuproxy_config::{ExposeSecret, SecretString};
use serde_json::{Value, json};

use super::http::refused;
use super::stripe::path_segment;
use super::{Charge, HttpCalls, Outcome, PaymentProcessor, ProcessorError, cents_to_micros};

/// An AfterDark account.
#[derive(Debug, Clone)]
pub struct AfterDark {
    calls: HttpCalls,
    api_url: String,
    api_key: SecretString,
}

impl AfterDark {
    /// Talks to `api_url` (`AFTERDARK_API_URL`) with `api_key`.
    pub fn new(calls: HttpCalls, api_url: &str, api_key: SecretString) -> Self {
        AfterDark {
            calls,
            api_url: api_url.trim_end_matches('/').to_owned(),
            api_key,
        }
    }

    async fn create(&self, charge: Charge<'_>) -> Result<Outcome, ProcessorError> {
        let body = json!({
            "amount": charge.amount_cents,
            "currency": charge.currency,
            "customer": charge.user_id,
            "reference": charge.payment_id,
            "description": "GPU Proxy credits",
        });
        let url = format!("{}/v1/charges", self.api_url);
        let (status, json) = self
            .calls
            .send("afterdark", || {
                self.calls
                    .client()
                    .post(&url)
                    .bearer_auth(self.api_key.expose_secret())
                    .header("Idempotency-Key", charge.payment_id)
                    .json(&body)
            })
            .await?;
        if status.is_success() {
            Ok(outcome_of(&json))
        } else {
            Err(refused("afterdark", status, &json))
        }
    }

    async fn fetch(&self, reference: &str) -> Result<Outcome, ProcessorError> {
        let url = format!("{}/v1/charges/{}", self.api_url, path_segment(reference)?);
        let (status, json) = self
            .calls
            .send("afterdark", || {
                self.calls
                    .client()
                    .get(&url)
                    .bearer_auth(self.api_key.expose_secret())
            })
            .await?;
        if status.is_success() {
            Ok(outcome_of(&json))
        } else {
            Err(refused("afterdark", status, &json))
        }
    }
}

impl PaymentProcessor for AfterDark {
    fn charge<'a>(&'a self, charge: Charge<'a>) -> BoxFuture<'a, Result<Outcome, ProcessorError>> {
        self.create(charge).boxed()
    }

    fn lookup<'a>(&'a self, reference: &'a str) -> BoxFuture<'a, Result<Outcome, ProcessorError>> {
        self.fetch(reference).boxed()
    }
}

fn outcome_of(charge: &Value) -> Outcome {
    let reference = charge["id"].as_str().unwrap_or_default().to_owned();
    match charge["status"].as_str().unwrap_or_default() {
        "succeeded" => Outcome::Settled {
            reference,
            received_micros: cents_to_micros(charge["amount"].as_i64().unwrap_or_default()),
        },
        "failed" => Outcome::Declined {
            reference: Some(reference),
            reason: charge["failure_message"]
                .as_str()
                .or_else(|| charge["failure_code"].as_str())
                .unwrap_or("declined")
                .to_owned(),
        },
        _ => Outcome::Pending {
            reference,
            pay_to: String::new(),
            pay_amount: String::new(),
            pay_currency: String::new(),
        },
    }
}
