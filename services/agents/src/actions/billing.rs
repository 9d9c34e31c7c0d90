//! `get_billing_transactions` and `get_credits`: the caller's money.

use gpuproxy_proto::gpuproxy::billing::v1 as billing;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::actions::{Actions, dollars};
use crate::{ActionError, Caller};

/// The input of an action that takes none.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NoInput {}

/// Which transactions.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TransactionsInput {
    /// At most this many, newest first (default 50, at most 500).
    #[serde(default)]
    pub limit: Option<i32>,
    /// Skip this many.
    #[serde(default)]
    pub offset: Option<i32>,
}

/// One payment.
#[derive(Debug, Serialize, JsonSchema)]
pub struct TransactionOutput {
    /// Its id.
    pub transaction_id: String,
    /// `payment`.
    pub r#type: String,
    /// USD.
    pub amount: f64,
    /// `USD`.
    pub currency: String,
    /// `pending`, `completed` or `failed`.
    pub status: String,
    /// What it was for.
    pub description: String,
    /// The processor: `stripe`, `crypto` or `afterdark`.
    pub provider: String,
    /// When, milliseconds since the Unix epoch.
    pub created_at_ms: i64,
}

/// The caller's transactions.
#[derive(Debug, Serialize, JsonSchema)]
pub struct TransactionsOutput {
    /// Newest first.
    pub transactions: Vec<TransactionOutput>,
    /// Transactions in all.
    pub total_count: i32,
}

/// The caller's credits.
#[derive(Debug, Serialize, JsonSchema)]
pub struct CreditsOutput {
    /// USD left to spend (never below 0).
    pub credits_remaining: f64,
    /// USD ever credited.
    pub credits_total: f64,
    /// USD used beyond what was credited.
    pub credits_overage: f64,
    /// The most overage allowed, USD.
    pub credits_cap: f64,
    /// USD held for spending under way.
    pub held: f64,
    /// Whether credits renew automatically.
    pub credits_auto_renew: bool,
}

impl Actions {
    pub(super) async fn transactions(
        &self,
        caller: Caller,
        input: TransactionsInput,
    ) -> Result<TransactionsOutput, ActionError> {
        let request = billing::GetTransactionsRequest {
            user_id: caller.user_id.to_string(),
            limit: input.limit.unwrap_or(50).clamp(1, 500),
            offset: input.offset.unwrap_or(0).max(0),
        };
        let listed = self
            .call_owner(self.billing.clone().get_transactions(request))
            .await?;
        Ok(TransactionsOutput {
            total_count: listed.total_count,
            transactions: listed
                .transactions
                .into_iter()
                .map(|transaction| TransactionOutput {
                    transaction_id: transaction.transaction_id,
                    r#type: transaction.r#type,
                    amount: dollars(transaction.amount_micros),
                    currency: transaction.currency,
                    status: transaction.status,
                    description: transaction.description,
                    provider: transaction.provider,
                    created_at_ms: transaction.created_at_ms,
                })
                .collect(),
        })
    }

    pub(super) async fn credits(&self, caller: Caller) -> Result<CreditsOutput, ActionError> {
        let credits = self
            .call_owner(self.billing.clone().get_credits(billing::GetCreditsRequest {
                user_id: caller.user_id.to_string(),
            }))
            .await?;
        Ok(CreditsOutput {
            credits_remaining: dollars(credits.credits_remaining_micros),
            credits_total: dollars(credits.credits_total_micros),
            credits_overage: dollars(credits.credits_overage_micros),
            credits_cap: dollars(credits.credits_cap_micros),
            held: dollars(credits.held_micros),
            credits_auto_renew: credits.credits_auto_renew,
        })
    }
}
