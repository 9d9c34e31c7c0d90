//! `POST /v1/payment_intents/{id}/cancel`.

use std::sync::Arc;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::json;

use crate::clock::unix_seconds;
use crate::stripe::error_body::StripeError;
use crate::stripe::form::FormParams;
use crate::stripe::idempotent_post::{self, Outcome};
use crate::stripe::payment_intent::Status;
use crate::stripe::request_log::RequestId;
use crate::stripe::retrieve::no_such_payment_intent;
use crate::stripe::shared::StripeShared;

/// The `cancellation_reason` values Stripe accepts.
const REASONS: &[&str] = &["duplicate", "fraudulent", "requested_by_customer", "abandoned"];

/// Handles `POST /v1/payment_intents/{id}/cancel`: any status but `succeeded` and `canceled`
/// becomes `canceled`; those two answer `400 payment_intent_unexpected_state`.
pub(crate) async fn cancel_payment_intent(
    State(stripe): State<Arc<StripeShared>>,
    Path(id): Path<String>,
    Extension(RequestId(request_id)): Extension<RequestId>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = format!("/v1/payment_intents/{id}/cancel");
    idempotent_post::run(&stripe, &headers, &body, &path, &request_id, |form, _| {
        cancel(&stripe, &id, form)
    })
    .await
}

fn cancel(stripe: &StripeShared, id: &str, form: &FormParams) -> Outcome {
    if let Some(unknown) = form
        .top_level_names()
        .into_iter()
        .find(|name| !["cancellation_reason", "expand"].contains(name))
    {
        return Outcome::Rejected(
            StripeError::invalid_request(format!("Received unknown parameter: {unknown}"))
                .code("parameter_unknown")
                .param(unknown),
        );
    }
    let reason = form.scalar("cancellation_reason");
    if let Some(reason) = reason.filter(|reason| !REASONS.contains(reason)) {
        return Outcome::Rejected(
            StripeError::invalid_request(format!(
                "Invalid cancellation_reason: must be one of {}, got {reason}",
                REASONS.join(", ")
            ))
            .param("cancellation_reason"),
        );
    }
    let mut state = stripe.state();
    let Some(intent) = state.payment_intent_mut(id) else {
        return Outcome::Rejected(no_such_payment_intent(id));
    };
    if !intent.status.is_cancelable() {
        let error = StripeError::invalid_request(format!(
            "You cannot cancel this PaymentIntent because it has a status of {}. Only a \
             PaymentIntent with one of the following statuses may be canceled: \
             requires_payment_method, requires_capture, requires_confirmation, requires_action, \
             processing.",
            intent.status.as_str()
        ))
        .code("payment_intent_unexpected_state")
        .field("payment_intent", intent.to_json());
        return Outcome::Executed {
            status: error.status,
            body: error.body(),
        };
    }
    intent.status = Status::Canceled;
    intent.canceled_at = Some(unix_seconds());
    intent.cancellation_reason = reason.map(str::to_owned);
    intent.amount_capturable = 0;
    intent.next_action = json!(null);
    Outcome::Executed {
        status: StatusCode::OK,
        body: intent.to_json(),
    }
}
