//! `GET /v1/payment/{payment_id}` (spec B2 "Get payment").

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::nowpayments::auth;
use crate::nowpayments::errors::NowPaymentsError;
use crate::nowpayments::shared::NowPaymentsShared;

/// Handles `GET /v1/payment/{payment_id}`: the payment with numeric ids, or `404`.
pub(crate) async fn get_payment(
    State(now): State<Arc<NowPaymentsShared>>,
    Path(payment_id): Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Err(error) = auth::check(&headers, &now.api_key) {
        return error.into_response();
    }
    let Ok(numeric_id) = payment_id.parse::<u64>() else {
        return NowPaymentsError::invalid_params("\"payment_id\" must be a number").into_response();
    };
    match now.state().payment(numeric_id) {
        Some(payment) => Json(payment.status_json()).into_response(),
        None => NowPaymentsError {
            status: StatusCode::NOT_FOUND,
            code: "PAYMENT_NOT_FOUND",
            message: format!("Payment {payment_id} not found"),
        }
        .into_response(),
    }
}
