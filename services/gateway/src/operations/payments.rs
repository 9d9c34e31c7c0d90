//! Payments, the caller's transactions and credits.

use gpuproxy_domain::Principal;
use gpuproxy_errors::ErrorCode;
use gpuproxy_proto::gpuproxy::billing::v1 as billing;

use crate::Error;
use crate::money::positive_micros;
use crate::operations::Operations;

/// A payment to start.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PaymentInput {
    /// USD.
    pub amount: f64,
    /// The currency (billing's default, `usd`, when empty).
    pub currency: String,
    /// `stripe`, `crypto` or `afterdark`.
    pub provider: String,
    /// `card:pm_…` (a Stripe PaymentMethod id) or `crypto:network:wallet`; never a card number.
    pub payment_method: String,
    /// One payment per key (empty: none).
    pub idempotency_key: String,
}

/// 400 `RAW_CARD_REJECTED`, refused at the edge so that a card number never travels on to the
/// billing service; the message never repeats the number.
pub fn raw_card_rejected() -> Error {
    Error::new(
        ErrorCode::RawCardRejected,
        "raw card numbers are never accepted; send a Stripe PaymentMethod id (card:pm_…) instead",
    )
}

impl Operations {
    /// Starts a payment for `caller` that adds credits once it settles. A card number as the method
    /// is refused before anything travels.
    pub async fn create_payment(
        &self,
        caller: &Principal,
        input: PaymentInput,
    ) -> Result<billing::Payment, Error> {
        if gpuproxy_domain::contains_card_number(&input.payment_method) {
            return Err(raw_card_rejected());
        }
        let amount_micros = positive_micros("amount", input.amount)?;
        let request = billing::CreatePaymentRequest {
            user_id: caller.user_id.to_string(),
            amount_micros,
            currency: if input.currency.is_empty() {
                "usd".to_owned()
            } else {
                input.currency
            },
            provider: input.provider,
            payment_method: input.payment_method,
            idempotency_key: input.idempotency_key,
            email: caller.email.to_string(),
        };
        self.call_renting(self.billing.clone().create_payment(request))
            .await
    }

    /// Lists `caller`'s payments, newest first (`limit` 0 = billing's default page).
    pub async fn transactions(
        &self,
        caller: &Principal,
        limit: i32,
        offset: i32,
    ) -> Result<billing::GetTransactionsResponse, Error> {
        let request = billing::GetTransactionsRequest {
            user_id: caller.user_id.to_string(),
            limit,
            offset,
        };
        self.call(self.billing.clone().get_transactions(request)).await
    }

    /// Returns `caller`'s balance, cap and holds.
    pub async fn credits(&self, caller: &Principal) -> Result<billing::Credits, Error> {
        let request = billing::GetCreditsRequest {
            user_id: caller.user_id.to_string(),
        };
        self.call(self.billing.clone().get_credits(request)).await
    }
}
