//! `POST /v1/payment` (spec B2 "Create payment"), and the payment constructor it shares with
//! paying an invoice.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::clock::{iso8601_millis, iso8601_millis_in};
use crate::ids;
use crate::nowpayments::auth;
use crate::nowpayments::coins::{Coin, round8};
use crate::nowpayments::errors::NowPaymentsError;
use crate::nowpayments::fields::{self, Price};
use crate::nowpayments::payment::{Payment, fiat_after_fee};
use crate::nowpayments::shared::{NowPaymentsShared, NowPaymentsState};

/// How long a new payment waits for funds, as `expiration_estimate_date` reports it.
const EXPIRES_IN_MINUTES: i64 = 20;

/// What a new payment is opened with, besides its price and coin.
#[derive(Debug, Clone, Default)]
pub(crate) struct PaymentDetails {
    pub(crate) invoice_id: Option<u64>,
    pub(crate) order_id: Option<String>,
    pub(crate) order_description: Option<String>,
    pub(crate) ipn_callback_url: Option<String>,
    pub(crate) is_fixed_rate: bool,
    pub(crate) is_fee_paid_by_user: bool,
}

/// Handles `POST /v1/payment`: `201` with the new `waiting` payment.
pub(crate) async fn create_payment(
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
        Ok((price, coin, details)) => {
            let mut state = now.state();
            let created = open_payment(&mut state, &price, coin, details).created_json();
            (StatusCode::CREATED, Json(created)).into_response()
        }
        Err(error) => error.into_response(),
    }
}

/// Records a new `waiting` payment and returns a copy of it.
pub(crate) fn open_payment(
    state: &mut NowPaymentsState,
    price: &Price,
    coin: Coin,
    details: PaymentDetails,
) -> Payment {
    let now = iso8601_millis();
    let payment = Payment {
        payment_id: ids::ten_digits(),
        invoice_id: details.invoice_id,
        purchase_id: ids::ten_digits(),
        status: "waiting",
        pay_address: coin.new_address(),
        price_amount: price.amount,
        price_currency: price.currency.clone(),
        coin,
        pay_amount: round8(price.amount * price.usd_rate / coin.usd_rate),
        actually_paid: 0.0,
        amount_received: fiat_after_fee(price.amount),
        order_id: details.order_id,
        order_description: details.order_description,
        ipn_callback_url: details.ipn_callback_url,
        is_fixed_rate: details.is_fixed_rate,
        is_fee_paid_by_user: details.is_fee_paid_by_user,
        payin_hash: None,
        payout_hash: None,
        created_at: now.clone(),
        updated_at: now,
        expiration_estimate_date: iso8601_millis_in(EXPIRES_IN_MINUTES),
    };
    state.executed += 1;
    state.payments.push(payment.clone());
    payment
}

fn parse(body: &[u8]) -> Result<(Price, Coin, PaymentDetails), NowPaymentsError> {
    let fields = fields::object(body)?;
    let price = fields::price(&fields)?;
    let coin = fields::pay_currency(&fields)?
        .ok_or_else(|| NowPaymentsError::invalid_params("\"pay_currency\" is required"))?;
    let details = PaymentDetails {
        invoice_id: None,
        order_id: fields::string(&fields, "order_id")?.map(str::to_owned),
        order_description: fields::string(&fields, "order_description")?.map(str::to_owned),
        ipn_callback_url: fields::string(&fields, "ipn_callback_url")?.map(str::to_owned),
        is_fixed_rate: fields::flag(&fields, "is_fixed_rate")?,
        is_fee_paid_by_user: fields::flag(&fields, "is_fee_paid_by_user")?,
    };
    Ok((price, coin, details))
}
