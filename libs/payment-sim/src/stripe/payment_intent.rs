//! The PaymentIntent the fake keeps, and its wire shape (spec A4, "current shape").

use std::collections::BTreeMap;

use serde_json::{Value, json};

/// A PaymentIntent's `status` (spec A4, "Status values and transitions").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Status {
    RequiresPaymentMethod,
    RequiresConfirmation,
    RequiresAction,
    Processing,
    RequiresCapture,
    Canceled,
    Succeeded,
}

/// One PaymentIntent as stored: the wire fields plus how it was created.
#[derive(Debug, Clone)]
pub(crate) struct PaymentIntent {
    pub(crate) id: String,
    pub(crate) amount: i64,
    pub(crate) amount_capturable: i64,
    pub(crate) amount_received: i64,
    pub(crate) currency: String,
    pub(crate) status: Status,
    pub(crate) customer: Option<String>,
    /// The attached PaymentMethod; cleared by a failed attempt, as Stripe does.
    pub(crate) payment_method: Option<String>,
    pub(crate) payment_method_types: Vec<String>,
    pub(crate) automatic_payment_methods: Value,
    pub(crate) capture_method: String,
    pub(crate) client_secret: String,
    pub(crate) latest_charge: Option<String>,
    /// The error object (spec A3, without `payment_intent`) of the last failed attempt.
    pub(crate) last_payment_error: Value,
    pub(crate) next_action: Value,
    pub(crate) cancellation_reason: Option<String>,
    pub(crate) canceled_at: Option<i64>,
    pub(crate) created: i64,
    pub(crate) livemode: bool,
    pub(crate) description: Option<String>,
    pub(crate) receipt_email: Option<String>,
    pub(crate) setup_future_usage: Option<String>,
    pub(crate) statement_descriptor: Option<String>,
    pub(crate) statement_descriptor_suffix: Option<String>,
    pub(crate) metadata: BTreeMap<String, String>,
    /// The `Request-Id` of the request that created it, for events' `request.id`.
    pub(crate) created_by_request: String,
    /// The `Idempotency-Key` it was created with, for events' `request.idempotency_key`.
    pub(crate) idempotency_key: Option<String>,
}

impl Status {
    /// Returns the wire value, e.g. `requires_payment_method`.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Status::RequiresPaymentMethod => "requires_payment_method",
            Status::RequiresConfirmation => "requires_confirmation",
            Status::RequiresAction => "requires_action",
            Status::Processing => "processing",
            Status::RequiresCapture => "requires_capture",
            Status::Canceled => "canceled",
            Status::Succeeded => "succeeded",
        }
    }

    /// Returns whether `POST /v1/payment_intents/{id}/cancel` may still cancel it.
    pub(crate) fn is_cancelable(self) -> bool {
        !matches!(self, Status::Canceled | Status::Succeeded)
    }
}

impl PaymentIntent {
    /// Returns the PaymentIntent object exactly as the API and events carry it.
    pub(crate) fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "object": "payment_intent",
            "amount": self.amount,
            "amount_capturable": self.amount_capturable,
            "amount_received": self.amount_received,
            "currency": self.currency,
            "status": self.status.as_str(),
            "customer": self.customer,
            "payment_method": self.payment_method,
            "payment_method_types": self.payment_method_types,
            "automatic_payment_methods": self.automatic_payment_methods,
            "capture_method": self.capture_method,
            "confirmation_method": "automatic",
            "client_secret": self.client_secret,
            "latest_charge": self.latest_charge,
            "last_payment_error": self.last_payment_error,
            "next_action": self.next_action,
            "cancellation_reason": self.cancellation_reason,
            "canceled_at": self.canceled_at,
            "created": self.created,
            "livemode": self.livemode,
            "description": self.description,
            "receipt_email": self.receipt_email,
            "setup_future_usage": self.setup_future_usage,
            "metadata": self.metadata,
            "processing": null,
            "review": null,
            "shipping": null,
            "statement_descriptor": self.statement_descriptor,
            "statement_descriptor_suffix": self.statement_descriptor_suffix,
            "application": null,
            "application_fee_amount": null,
            "on_behalf_of": null,
            "transfer_data": null,
            "transfer_group": null,
            "payment_method_options": {},
            "invoice": null,
        })
    }
}
