//! A charge and its wire shape.

use serde_json::{Value, json};

/// The failure code and message of a declined charge.
pub(crate) const DECLINE: (&str, &str) = ("card_declined", "the card was declined");

/// One charge as stored; it never changes after creation.
#[derive(Debug, Clone)]
pub(crate) struct Charge {
    /// `adch_` and 24 hex digits.
    pub(crate) id: String,
    pub(crate) succeeded: bool,
    pub(crate) amount: i64,
    pub(crate) currency: String,
    pub(crate) customer: String,
    pub(crate) reference: String,
    pub(crate) description: Option<String>,
    pub(crate) created: i64,
}

impl Charge {
    /// Returns the charge object `POST /v1/charges` and `GET /v1/charges/{id}` answer.
    pub(crate) fn to_json(&self) -> Value {
        let (status, failure_code, failure_message) = if self.succeeded {
            ("succeeded", None, None)
        } else {
            ("failed", Some(DECLINE.0), Some(DECLINE.1))
        };
        json!({
            "id": self.id,
            "object": "charge",
            "status": status,
            "amount": self.amount,
            "currency": self.currency,
            "customer": self.customer,
            "reference": self.reference,
            "description": self.description,
            "failure_code": failure_code,
            "failure_message": failure_message,
            "created": self.created,
        })
    }
}
