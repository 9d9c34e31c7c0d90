//! Admitting spending ahead of time (a rent's first hour), and giving back what was not spent.

use gpuproxy_domain::{UsdMicros, UserId};
use gpuproxy_errors::ErrorCode;
use gpuproxy_proto::gpuproxy::billing::v1 as billing;

use crate::{Refusal, Spending};

impl Spending {
    /// Admits `estimate` of new spending under `hold_id` when admissions are enforced: holds it in
    /// the user's credits (`CREDITS_EXHAUSTED` when the balance less what is already held cannot
    /// cover it) and reserves it in every guard-rail window (`SPENDING_LIMIT_EXCEEDED`), each in one
    /// atomic step, so concurrent admissions can never both pass on the same money. Usage billed
    /// under the hold takes from it rather than counting twice.
    pub async fn admit(&self, user_id: UserId, hold_id: &str, estimate: i64) -> Result<(), Refusal> {
        if !self.admissions_enforced || estimate <= 0 {
            return Ok(());
        }
        let held = self
            .within(self.billing.clone().hold_credits(billing::HoldCreditsRequest {
                user_id: user_id.to_string(),
                hold_id: hold_id.to_owned(),
                amount_micros: estimate,
                ttl_ms: 0,
            }))
            .await?;
        if !held.allowed {
            let (balance, on_hold) = held
                .credits
                .map_or((0, 0), |credits| (credits.balance_micros, credits.held_micros));
            return Err(Refusal::new(
                ErrorCode::CreditsExhausted,
                format!(
                    "credits exhausted: an hour of the GPUs asked for costs {}, the balance is {} with {} held for GPUs starting",
                    UsdMicros::from_micros(estimate),
                    UsdMicros::from_micros(balance),
                    UsdMicros::from_micros(on_hold)
                ),
            ));
        }
        let reserved = self
            .reserve_room(user_id, estimate, guard_rail_key(hold_id))
            .await;
        match reserved {
            Ok(reserved) if reserved.allowed => Ok(()),
            Ok(refused) => {
                // The guard rails counted nothing: only the credits held it.
                self.release_credits(user_id, hold_id, 0).await;
                Err(Refusal::new(
                    ErrorCode::SpendingLimitExceeded,
                    format!("spending limit exceeded: {}", refused.reason),
                ))
            }
            Err(error) => {
                // The reservation may have been counted before the answer was lost.
                self.give_back(user_id, hold_id, 0).await;
                Err(error)
            }
        }
    }

    /// Gives `amount` (0 = all that is left) of an admission's credit hold back when its spending
    /// did not happen: rents that failed, fewer rented than admitted, or an instance that ended
    /// within its hour. The guard rails give back exactly what the hold gave back, so a failed rent
    /// or an unused hour costs the user no room under their limits, while the usage billed from
    /// the hold stays counted. A failure only over-counts: the hold expires within the hour, the
    /// guard rails' windows slide on.
    pub async fn give_back(&self, user_id: UserId, hold_id: &str, amount: i64) {
        let Some(released) = self.release_credits(user_id, hold_id, amount).await else {
            return;
        };
        if released <= 0 {
            return;
        }
        let given = self
            .release_room(user_id, guard_rail_key(hold_id), released)
            .await;
        if let Err(error) = given {
            tracing::warn!(%error, %user_id, hold_id, "giving a guard-rail reservation back failed; it stays counted");
        }
    }

    /// Gives `amount` (0 = all that is left) of a credit hold back; returns what it gave back, or
    /// `None` when nothing was (not enforced, no such hold, billing failed).
    async fn release_credits(&self, user_id: UserId, hold_id: &str, amount: i64) -> Option<i64> {
        if !self.admissions_enforced || amount < 0 {
            return None;
        }
        let released = self
            .within(self.billing.clone().release_hold(billing::ReleaseHoldRequest {
                user_id: user_id.to_string(),
                hold_id: hold_id.to_owned(),
                amount_micros: amount,
            }))
            .await;
        match released {
            Ok(released) => Some(released.released_micros),
            // Never held (admitted before holds, or nothing to hold).
            Err(Refusal {
                code: ErrorCode::NotFound,
                ..
            }) => None,
            Err(error) => {
                tracing::warn!(%error, %user_id, hold_id, "releasing a credit hold failed; it expires within the hour");
                None
            }
        }
    }
}

/// The key a hold's admission reserves under in the guard rails.
fn guard_rail_key(hold_id: &str) -> String {
    format!("hold:{hold_id}")
}
