//! `POST /v1/payment_intents`: create, and with `confirm=true` confirm in the same call (spec A4).

use std::sync::Arc;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{Value, json};

use crate::clock::unix_seconds;
use crate::ids;
use crate::stripe::create_params::CreateParams;
use crate::stripe::idempotent_post::{self, Outcome, PostContext};
use crate::stripe::payment_intent::{PaymentIntent, Status};
use crate::stripe::request_log::RequestId;
use crate::stripe::shared::StripeShared;
use crate::stripe::test_cards::{self, AUTHENTICATION_REQUIRED, CardBehaviour};

/// Handles `POST /v1/payment_intents`.
pub(crate) async fn create_payment_intent(
    State(stripe): State<Arc<StripeShared>>,
    Extension(RequestId(request_id)): Extension<RequestId>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = "/v1/payment_intents";
    idempotent_post::run(&stripe, &headers, &body, path, &request_id, |form, context| {
        match CreateParams::parse(form) {
            Ok(params) => execute(&stripe, params, context),
            Err(error) => Outcome::Rejected(error),
        }
    })
    .await
}

fn execute(stripe: &StripeShared, params: CreateParams, context: PostContext<'_>) -> Outcome {
    let mut state = stripe.state();
    let mut intent = new_intent(&params, stripe.livemode, context);
    let declined = match (&params.payment_method, params.confirm) {
        (Some(payment_method), true) => {
            confirm(&mut intent, &params, payment_method, state.settle_asynchronously)
        }
        _ => None,
    };
    let outcome = match declined {
        None => Outcome::Executed {
            status: StatusCode::OK,
            body: intent.to_json(),
        },
        Some(error) => Outcome::Executed {
            status: StatusCode::PAYMENT_REQUIRED,
            body: json!({"error": error_with_intent(error, &intent)}),
        },
    };
    state.executed += 1;
    state.payment_intents.push(intent);
    outcome
}

fn new_intent(params: &CreateParams, livemode: bool, context: PostContext<'_>) -> PaymentIntent {
    let id = ids::alphanumeric("pi_", 24);
    let status = match params.payment_method {
        Some(_) => Status::RequiresConfirmation,
        None => Status::RequiresPaymentMethod,
    };
    PaymentIntent {
        client_secret: ids::alphanumeric(&format!("{id}_secret_"), 25),
        id,
        amount: params.amount,
        amount_capturable: 0,
        amount_received: 0,
        currency: params.currency.clone(),
        status,
        customer: params.customer.clone(),
        payment_method: params.payment_method.clone(),
        payment_method_types: params.payment_method_types.clone(),
        automatic_payment_methods: params.automatic_payment_methods.clone(),
        capture_method: params.capture_method.clone(),
        latest_charge: None,
        last_payment_error: Value::Null,
        next_action: Value::Null,
        cancellation_reason: None,
        canceled_at: None,
        created: unix_seconds(),
        livemode,
        description: params.description.clone(),
        receipt_email: params.receipt_email.clone(),
        setup_future_usage: params.setup_future_usage.clone(),
        statement_descriptor: params.statement_descriptor.clone(),
        statement_descriptor_suffix: params.statement_descriptor_suffix.clone(),
        metadata: params.metadata.clone(),
        created_by_request: context.request_id.to_owned(),
        idempotency_key: context.idempotency_key.map(str::to_owned),
    }
}

/// Confirms `intent` with `payment_method`; returns the card error object when it is declined.
fn confirm(
    intent: &mut PaymentIntent,
    params: &CreateParams,
    payment_method: &str,
    settle_asynchronously: bool,
) -> Option<Value> {
    let decline = match test_cards::behaviour(payment_method) {
        CardBehaviour::Succeeds => {
            intent.latest_charge = Some(ids::alphanumeric("ch_", 24));
            if settle_asynchronously {
                intent.status = Status::Processing;
            } else if params.capture_method == "manual" {
                intent.status = Status::RequiresCapture;
                intent.amount_capturable = intent.amount;
            } else {
                intent.status = Status::Succeeded;
                intent.amount_received = intent.amount;
            }
            return None;
        }
        CardBehaviour::RequiresAuthentication if !params.off_session && !params.error_on_requires_action => {
            intent.status = Status::RequiresAction;
            intent.next_action = next_action(&intent.id, params.return_url.as_deref());
            return None;
        }
        CardBehaviour::RequiresAuthentication => AUTHENTICATION_REQUIRED,
        CardBehaviour::Declines(decline) => decline,
    };
    let charge_id = ids::alphanumeric("ch_", 24);
    let error = decline.error(&charge_id, payment_method).object();
    // A failed attempt sends the PaymentIntent back for another PaymentMethod (spec A4).
    intent.status = Status::RequiresPaymentMethod;
    intent.payment_method = None;
    intent.latest_charge = Some(charge_id);
    intent.last_payment_error = error.clone();
    Some(error)
}

/// Returns the 3-D Secure step: a redirect when the caller gave a `return_url`, else the SDK flow.
fn next_action(intent_id: &str, return_url: Option<&str>) -> Value {
    let url = format!("https://hooks.stripe.com/3d_secure_2/hosted?payment_intent={intent_id}");
    match return_url {
        Some(return_url) => json!({
            "type": "redirect_to_url",
            "redirect_to_url": {"url": url, "return_url": return_url},
        }),
        None => json!({
            "type": "use_stripe_sdk",
            "use_stripe_sdk": {"type": "three_d_secure_redirect", "stripe_js": url},
        }),
    }
}

/// Returns the card error object with the full PaymentIntent embedded (spec A3 `payment_intent`).
fn error_with_intent(mut error: Value, intent: &PaymentIntent) -> Value {
    if let Value::Object(fields) = &mut error {
        fields.insert("payment_intent".to_owned(), intent.to_json());
    }
    error
}
