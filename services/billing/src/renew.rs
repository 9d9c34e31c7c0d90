//! Auto-renewal: an account with `credits_auto_renew` whose balance a debit takes below the
//! low-credit threshold is topped up by `auto_renew_amount` from the user's saved payment method.
//!
//! The debit marks the renewal due in its own transaction; the renewer charges once per mark (the
//! mark is the payment's idempotency key, so a crash or two replicas racing charge once) and
//! clears it when the payment settles or is declined. A processor that cannot be reached leaves
//! the mark for the next round.

use crate::error::Error;
use crate::payments::{NewPayment, Purpose};
use crate::repo::ledger as accounts;
use crate::repo::payments;
use crate::service::Billing;
use gpuproxy_domain::UserId;

/// Accounts looked at per round.
const BATCH: i64 = 100;

/// What one renewal came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Renewal {
    /// Charged and credited.
    Credited,
    /// Charged, waiting on the processor.
    Pending,
    /// Declined, or nothing to charge: the mark is cleared until the balance next falls below the threshold.
    Abandoned(String),
    /// Not decided (processor unreachable): tried again next round.
    Retried(String),
}

impl Billing {
    /// Runs every renewal that is due; returns what each came to, by user.
    pub async fn renew_due(&self) -> Result<Vec<(UserId, Renewal)>, Error> {
        let due = accounts::renewals_due(self.database().pool(), BATCH).await?;
        let mut outcomes = Vec::with_capacity(due.len());
        for (user_id, mark, amount) in due {
            let outcome = self.renew(user_id, &mark, amount).await?;
            match &outcome {
                Renewal::Credited | Renewal::Pending => {
                    tracing::info!(%user_id, ?outcome, "auto-renewal charged");
                }
                Renewal::Abandoned(reason) => tracing::warn!(%user_id, reason, "auto-renewal abandoned"),
                Renewal::Retried(reason) => tracing::warn!(%user_id, reason, "auto-renewal will be retried"),
            }
            if !matches!(outcome, Renewal::Pending | Renewal::Retried(_)) {
                accounts::clear_renewal_due(self.database().pool(), user_id, &mark).await?;
            }
            outcomes.push((user_id, outcome));
        }
        Ok(outcomes)
    }

    async fn renew(&self, user_id: UserId, mark: &str, amount: i64) -> Result<Renewal, Error> {
        let Some((provider, method)) = payments::reusable_method(self.database().pool(), user_id).await?
        else {
            return Ok(Renewal::Abandoned(
                "no saved payment method: make one card or AfterDark payment first".to_owned(),
            ));
        };
        let request = NewPayment {
            user_id,
            amount_micros: amount,
            currency: "usd".to_owned(),
            provider,
            // Stored as the request gives it (`card:pm_…`, `afterdark`).
            payment_method: method,
            idempotency_key: format!("auto-renew:{mark}"),
        };
        match self.start_payment(request, Purpose::Renewal).await {
            Ok(payment) if payment.status == "completed" => Ok(Renewal::Credited),
            Ok(_) => Ok(Renewal::Pending),
            Err(Error::Processor(reason)) => Ok(Renewal::Retried(reason)),
            Err(Error::Declined { reason, .. }) => Ok(Renewal::Abandoned(reason)),
            Err(error @ (Error::Internal(_) | Error::Db(_))) => Err(error),
            Err(refused) => Ok(Renewal::Abandoned(refused.to_string())),
        }
    }
}
