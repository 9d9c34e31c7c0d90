//! A NOWPayments payment as the fake keeps it, its status rules (spec B3) and its three JSON
//! shapes: the create answer, `GET /payment/{id}`, and the IPN body (spec B2, B4).

use anyhow::bail;
use serde_json::{Value, json};

use crate::clock::{iso8601_millis, unix_millis};
use crate::ids;
use crate::nowpayments::coins::{Coin, round8};

/// The share of the payment NOWPayments keeps as its fee, in the fake.
const FEE_SHARE: f64 = 0.005;

/// One payment; `payment_id` is numeric and rendered as a string or a number by shape.
#[derive(Debug, Clone)]
pub(crate) struct Payment {
    pub(crate) payment_id: u64,
    pub(crate) invoice_id: Option<u64>,
    pub(crate) purchase_id: u64,
    /// One of [`STATUSES`].
    pub(crate) status: &'static str,
    pub(crate) pay_address: String,
    pub(crate) price_amount: f64,
    pub(crate) price_currency: String,
    pub(crate) coin: Coin,
    /// `price_amount` converted at the coin's fixed rate, rounded to eight decimals.
    pub(crate) pay_amount: f64,
    /// What arrived on chain; set by status changes.
    pub(crate) actually_paid: f64,
    /// Fiat value after the fee, as the create answer's `amount_received` reports it.
    pub(crate) amount_received: f64,
    pub(crate) order_id: Option<String>,
    pub(crate) order_description: Option<String>,
    pub(crate) ipn_callback_url: Option<String>,
    pub(crate) is_fixed_rate: bool,
    pub(crate) is_fee_paid_by_user: bool,
    pub(crate) payin_hash: Option<String>,
    pub(crate) payout_hash: Option<String>,
    pub(crate) created_at: String,
    pub(crate) updated_at: String,
    pub(crate) expiration_estimate_date: String,
}

/// Every status a payment can have (spec B3).
pub(crate) const STATUSES: &[&str] = &[
    "waiting",
    "confirming",
    "confirmed",
    "sending",
    "partially_paid",
    "finished",
    "failed",
    "refunded",
    "expired",
];

impl Payment {
    /// Moves the payment to `status`, updating what a real chain would have changed with it:
    /// funds seen from `confirming` on, half of them for `partially_paid`, a payout hash once
    /// `finished`, nothing received for `waiting` and `expired`. `failed` and `refunded` keep what
    /// was paid.
    pub(crate) fn set_status(&mut self, status: &str) -> anyhow::Result<()> {
        let Some(status) = STATUSES.iter().copied().find(|known| *known == status) else {
            bail!("unknown NOWPayments status {status:?}; expected one of {STATUSES:?}");
        };
        match status {
            "waiting" | "expired" => {
                self.actually_paid = 0.0;
                self.payin_hash = None;
            }
            "confirming" | "confirmed" | "sending" | "finished" => {
                self.actually_paid = self.pay_amount;
                self.payin_hash.get_or_insert_with(|| ids::hex("", 32));
            }
            "partially_paid" => {
                self.actually_paid = round8(self.pay_amount / 2.0);
                self.payin_hash.get_or_insert_with(|| ids::hex("", 32));
            }
            _ => {}
        }
        if status == "finished" {
            self.payout_hash.get_or_insert_with(|| ids::hex("", 32));
        }
        self.status = status;
        self.updated_at = iso8601_millis();
        Ok(())
    }

    /// Returns the `201` answer of `POST /payment`: ids as strings.
    pub(crate) fn created_json(&self) -> Value {
        json!({
            "payment_id": self.payment_id.to_string(),
            "payment_status": self.status,
            "pay_address": self.pay_address,
            "payin_extra_id": null,
            "price_amount": self.price_amount,
            "price_currency": self.price_currency,
            "pay_amount": self.pay_amount,
            "amount_received": self.amount_received,
            "pay_currency": self.coin.ticker,
            "order_id": self.order_id,
            "order_description": self.order_description,
            "ipn_callback_url": self.ipn_callback_url,
            "purchase_id": self.purchase_id.to_string(),
            "network": self.coin.network,
            "is_fixed_rate": self.is_fixed_rate,
            "is_fee_paid_by_user": self.is_fee_paid_by_user,
            "expiration_estimate_date": self.expiration_estimate_date,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        })
    }

    /// Returns the answer of `GET /payment/{id}`: ids as numbers, so clients must parse both.
    pub(crate) fn status_json(&self) -> Value {
        json!({
            "payment_id": self.payment_id,
            "invoice_id": self.invoice_id,
            "payment_status": self.status,
            "pay_address": self.pay_address,
            "payin_extra_id": null,
            "price_amount": self.price_amount,
            "price_currency": self.price_currency,
            "pay_amount": self.pay_amount,
            "actually_paid": self.actually_paid,
            "pay_currency": self.coin.ticker,
            "order_id": self.order_id,
            "order_description": self.order_description,
            "purchase_id": self.purchase_id,
            "outcome_amount": self.outcome_amount(),
            "outcome_currency": self.coin.ticker,
            "payin_hash": self.payin_hash,
            "payout_hash": self.payout_hash,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "type": "crypto2crypto",
        })
    }

    /// Returns the IPN body: the status shape plus the IPN-only fields, with `updated_at` in
    /// epoch milliseconds as real IPNs may carry it.
    pub(crate) fn ipn_json(&self) -> Value {
        let mut body = self.status_json();
        if let Value::Object(fields) = &mut body {
            let paid_share = if self.pay_amount > 0.0 {
                self.actually_paid / self.pay_amount
            } else {
                0.0
            };
            let at_fiat = (self.price_amount * paid_share * 100.0).round() / 100.0;
            fields.insert("actually_paid_at_fiat".to_owned(), json!(at_fiat));
            fields.insert("parent_payment_id".to_owned(), Value::Null);
            fields.insert("payment_extra_ids".to_owned(), Value::Null);
            fields.insert(
                "fee".to_owned(),
                json!({
                    "currency": self.coin.ticker,
                    "depositFee": 0,
                    "withdrawalFee": 0,
                    "serviceFee": round8(self.actually_paid * FEE_SHARE),
                }),
            );
            fields.insert("updated_at".to_owned(), json!(unix_millis()));
        }
        body
    }

    /// Returns what reaches the merchant's wallet: the paid amount less the fee.
    fn outcome_amount(&self) -> f64 {
        round8(self.pay_amount * (1.0 - FEE_SHARE))
    }
}

/// Returns the fiat value left after the fee, to the cent.
pub(crate) fn fiat_after_fee(price_amount: f64) -> f64 {
    (price_amount * (1.0 - FEE_SHARE) * 100.0).round() / 100.0
}
