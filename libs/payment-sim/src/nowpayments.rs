//! `FakeNowPayments`: the crypto payments API and signed IPNs of spec Part B (contract B5).

mod auth;
mod coins;
mod create_payment;
mod errors;
mod fields;
mod get_payment;
mod invoice;
mod ipn;
mod payment;
mod shared;

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context as _;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};

use crate::fail_next::FailNext;
use crate::nowpayments::coins::coin_named;
use crate::nowpayments::create_payment::{PaymentDetails, open_payment};
use crate::nowpayments::shared::{NowPaymentsShared, NowPaymentsState};
use crate::serve::RunningServer;

/// How long the fake waits for an IPN receiver to answer.
const IPN_TIMEOUT: Duration = Duration::from_secs(10);

/// A fake NOWPayments account serving `/v1/...` on `127.0.0.1`, until dropped.
pub struct FakeNowPayments {
    shared: Arc<NowPaymentsShared>,
    server: RunningServer,
}

impl FakeNowPayments {
    /// Starts an account that accepts `api_key` in `x-api-key` and signs IPNs with `ipn_secret`.
    pub async fn start(api_key: &str, ipn_secret: &str) -> anyhow::Result<FakeNowPayments> {
        let http = reqwest::Client::builder()
            .timeout(IPN_TIMEOUT)
            .build()
            .context("building the IPN client")?;
        let shared = Arc::new(NowPaymentsShared {
            api_key: api_key.to_owned(),
            ipn_secret: ipn_secret.to_owned(),
            state: Mutex::new(NowPaymentsState::default()),
            fail_next: FailNext::default(),
            http,
        });
        let server = RunningServer::start("nowpayments", router(Arc::clone(&shared))).await?;
        Ok(FakeNowPayments { shared, server })
    }

    /// Returns `http://127.0.0.1:PORT/v1`; clients append `/payment` etc.
    pub fn base_url(&self) -> String {
        format!("{}/v1", self.server.origin())
    }

    /// Returns how many payments were created (by `POST /v1/payment` or [`Self::pay_invoice`]).
    pub fn executed_count(&self) -> usize {
        self.shared.state().executed
    }

    /// Makes the next `times` POSTs answer `status` (429 `TOO_MANY_REQUESTS`, others
    /// `INTERNAL_ERROR`) without creating anything.
    pub fn fail_next(&self, status: u16, times: usize) {
        self.shared.fail_next.set(status, times);
    }

    /// Returns the payment as `GET /v1/payment/{id}` answers it (numeric ids).
    pub fn payment(&self, id: &str) -> Option<Value> {
        let payment_id = id.parse::<u64>().ok()?;
        self.shared
            .state()
            .payment(payment_id)
            .map(|payment| payment.status_json())
    }

    /// Returns every payment, oldest first, in the `GET /v1/payment/{id}` shape.
    pub fn payments(&self) -> Vec<Value> {
        let state = self.shared.state();
        state
            .payments
            .iter()
            .map(|payment| payment.status_json())
            .collect()
    }

    /// Returns every invoice, oldest first, in the `POST /v1/invoice` answer's shape.
    pub fn invoices(&self) -> Vec<Value> {
        let state = self.shared.state();
        state.invoices.iter().map(|invoice| invoice.to_json()).collect()
    }

    /// Plays the payer picking `pay_currency` on the hosted invoice page: opens a `waiting` payment
    /// carrying `invoice_id`, the invoice's price and callback. Returns the new payment id.
    pub fn pay_invoice(&self, invoice_id: &str, pay_currency: &str) -> anyhow::Result<String> {
        let mut state = self.shared.state();
        let invoice = state
            .invoices
            .iter()
            .find(|invoice| invoice.id.to_string() == invoice_id)
            .with_context(|| format!("no invoice {invoice_id}"))?
            .clone();
        let coin = coin_named(invoice.pay_currency.unwrap_or(pay_currency))
            .with_context(|| format!("the fake offers no coin {pay_currency:?}"))?;
        let details = PaymentDetails {
            invoice_id: Some(invoice.id),
            order_id: invoice.order_id,
            order_description: invoice.order_description,
            ipn_callback_url: invoice.ipn_callback_url,
            is_fixed_rate: invoice.is_fixed_rate,
            is_fee_paid_by_user: invoice.is_fee_paid_by_user,
        };
        let payment = open_payment(&mut state, &invoice.price, coin, details);
        Ok(payment.payment_id.to_string())
    }

    /// Sets the payment's status (waiting, confirming, confirmed, sending, finished,
    /// partially_paid, failed, expired, refunded), updating `actually_paid` etc., and POSTs the
    /// signed IPN (payment object as JSON, header `x-nowpayments-sig`) to its `ipn_callback_url`.
    /// Returns the receiver's status.
    ///
    /// Fails, changing nothing, for an unknown payment or status or a payment without callback.
    pub async fn advance(&self, payment_id: &str, status: &str) -> anyhow::Result<u16> {
        let (url, body) = {
            let mut state = self.shared.state();
            let payment = state
                .payment_mut(parse_id(payment_id)?)
                .with_context(|| format!("no payment {payment_id}"))?;
            let url = payment
                .ipn_callback_url
                .clone()
                .with_context(|| format!("payment {payment_id} has no ipn_callback_url"))?;
            payment.set_status(status)?;
            (url, payment.ipn_json())
        };
        ipn::deliver(&self.shared, &url, &self.shared.ipn_secret, &body).await
    }

    /// Sends the current payment object as an IPN signed with `secret` (a wrong secret for
    /// rejection tests), changing nothing. Returns the receiver's status.
    pub async fn send_ipn_with_secret(&self, payment_id: &str, secret: &str) -> anyhow::Result<u16> {
        let (url, body) = {
            let state = self.shared.state();
            let payment = state
                .payment(parse_id(payment_id)?)
                .with_context(|| format!("no payment {payment_id}"))?;
            let url = payment
                .ipn_callback_url
                .clone()
                .with_context(|| format!("payment {payment_id} has no ipn_callback_url"))?;
            (url, payment.ipn_json())
        };
        ipn::deliver(&self.shared, &url, secret, &body).await
    }
}

impl fmt::Debug for FakeNowPayments {
    /// Shows the address only: the state holds the API key and IPN secret.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FakeNowPayments")
            .field("base_url", &self.base_url())
            .finish_non_exhaustive()
    }
}

fn parse_id(payment_id: &str) -> anyhow::Result<u64> {
    payment_id
        .parse()
        .with_context(|| format!("payment id {payment_id:?} is not a number"))
}

fn router(shared: Arc<NowPaymentsShared>) -> Router {
    Router::new()
        .route("/v1/status", get(status))
        .route("/v1/payment", post(create_payment::create_payment))
        .route("/v1/payment/{payment_id}", get(get_payment::get_payment))
        .route("/v1/invoice", post(invoice::create_invoice))
        .with_state(shared)
}

/// Handles `GET /v1/status`, which needs no key.
async fn status() -> Json<Value> {
    Json(json!({"message": "OK"}))
}
