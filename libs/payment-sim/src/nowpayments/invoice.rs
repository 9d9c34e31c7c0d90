//! `POST /v1/invoice` (spec B2 "Hosted invoice"): the payer picks the coin on a hosted page.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::clock::iso8601_millis;
use crate::ids;
use crate::nowpayments::auth;
use crate::nowpayments::errors::NowPaymentsError;
use crate::nowpayments::fields::{self, Price};
use crate::nowpayments::shared::NowPaymentsShared;

/// One hosted invoice; `FakeNowPayments::pay_invoice` plays the payer choosing a coin.
#[derive(Debug, Clone)]
pub(crate) struct Invoice {
    pub(crate) id: u64,
    pub(crate) token_id: String,
    pub(crate) price: Price,
    /// The coin fixed by the merchant, if any; otherwise the payer chooses.
    pub(crate) pay_currency: Option<&'static str>,
    pub(crate) order_id: Option<String>,
    pub(crate) order_description: Option<String>,
    pub(crate) ipn_callback_url: Option<String>,
    pub(crate) success_url: Option<String>,
    pub(crate) cancel_url: Option<String>,
    pub(crate) is_fixed_rate: bool,
    pub(crate) is_fee_paid_by_user: bool,
    pub(crate) created_at: String,
}

/// Handles `POST /v1/invoice`: `200` with the invoice and its `invoice_url`.
pub(crate) async fn create_invoice(
    State(now): State<Arc<NowPaymentsShared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(status) = now.fail_next.take() {
        return NowPaymentsError::injected(status).into_response();
    }
    if let Err(error) = auth::check(&headers, &now.api_key) {
        return error.into_response();
    }
    match parse(&body) {
        Ok(invoice) => {
            let body = invoice.to_json();
            now.state().invoices.push(invoice);
            Json(body).into_response()
        }
        Err(error) => error.into_response(),
    }
}

impl Invoice {
    /// Returns the invoice as the API answers it: `id` and `price_amount` as strings, as the real
    /// API sends them.
    pub(crate) fn to_json(&self) -> Value {
        json!({
            "id": self.id.to_string(),
            "token_id": self.token_id,
            "order_id": self.order_id,
            "order_description": self.order_description,
            "price_amount": self.price.amount.to_string(),
            "price_currency": self.price.currency,
            "pay_currency": self.pay_currency,
            "ipn_callback_url": self.ipn_callback_url,
            "invoice_url": format!("https://nowpayments.io/payment/?iid={}", self.id),
            "success_url": self.success_url,
            "cancel_url": self.cancel_url,
            "is_fixed_rate": self.is_fixed_rate,
            "is_fee_paid_by_user": self.is_fee_paid_by_user,
            "created_at": self.created_at,
            "updated_at": self.created_at,
        })
    }
}

fn parse(body: &[u8]) -> Result<Invoice, NowPaymentsError> {
    let fields = fields::object(body)?;
    let string = |name: &str| fields::string(&fields, name).map(|value| value.map(str::to_owned));
    Ok(Invoice {
        id: ids::ten_digits(),
        token_id: ids::alphanumeric("", 9),
        price: fields::price(&fields)?,
        pay_currency: fields::pay_currency(&fields)?.map(|coin| coin.ticker),
        order_id: string("order_id")?,
        order_description: string("order_description")?,
        ipn_callback_url: string("ipn_callback_url")?,
        success_url: string("success_url")?,
        cancel_url: string("cancel_url")?,
        is_fixed_rate: fields::flag(&fields, "is_fixed_rate")?,
        is_fee_paid_by_user: fields::flag(&fields, "is_fee_paid_by_user")?,
        created_at: iso8601_millis(),
    })
}
