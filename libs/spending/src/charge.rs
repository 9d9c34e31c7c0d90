//! Charging one priced use at once (a proxied request, an inference call, an agent action): the
//! guard rails reserve the price first (atomically against every window), then billing debits it
//! with the cap enforced in the same statement; either refusal stops the use before it happens. A
//! use billing refuses gives its guard-rail reservation back, since nothing was spent; one whose
//! debit has an unknown outcome (a timeout) stays counted: the guard rails err towards stopping
//! spending, never towards letting it through.

use gpuproxy_domain::UserId;
use gpuproxy_errors::ErrorCode;
use gpuproxy_proto::gpuproxy::billing::v1 as billing;

use crate::{Refusal, Spending};

/// One priced use to charge.
#[derive(Debug, Clone, Copy)]
pub struct Charge<'a> {
    /// Who pays.
    pub user_id: UserId,
    /// What it costs, in micro-dollars (more than 0).
    pub cost_micros: i64,
    /// Makes the charge happen once however often it is sent; also names it in the ledger.
    pub idempotency_key: &'a str,
    /// What the usage record says it was.
    pub description: &'a str,
    /// The usage record's kind (`request`, …).
    pub kind: &'a str,
}

impl Spending {
    /// Charges `charge`: reserved in the guard rails, debited from the credits with the cap
    /// enforced, and the reservation given back when billing refuses.
    pub async fn charge(&self, charge: Charge<'_>) -> Result<(), Refusal> {
        let Charge {
            user_id,
            cost_micros,
            idempotency_key,
            description,
            kind,
        } = charge;
        let reserved = self
            .reserve_room(user_id, cost_micros, idempotency_key.to_owned())
            .await?;
        if !reserved.allowed {
            return Err(Refusal::new(
                ErrorCode::SpendingLimitExceeded,
                format!(
                    "this {kind}'s {} would pass a guard-rail limit: {}",
                    dollars(cost_micros),
                    reserved.reason
                ),
            ));
        }
        let debited = self
            .within(self.billing.clone().record_usage(billing::RecordUsageRequest {
                user_id: user_id.to_string(),
                cost_micros,
                client_id: user_id.to_string(),
                started_at_ms: gpuproxy_domain::now_ms(),
                description: description.to_owned(),
                idempotency_key: idempotency_key.to_owned(),
                kind: kind.to_owned(),
                enforce_cap: true,
                ..Default::default()
            }))
            .await;
        match debited {
            Ok(_) => Ok(()),
            Err(refused) if refused.code == ErrorCode::CreditsExhausted => {
                let released = self.release_room(user_id, idempotency_key.to_owned(), 0).await;
                if let Err(error) = released {
                    tracing::warn!(%error, %user_id, "giving a refused charge's guard-rail reservation back failed; it stays counted");
                }
                Err(refused)
            }
            Err(error) => Err(error),
        }
    }
}

/// Shows micro-dollars as `$0.000123`, to the micro-dollar.
fn dollars(micros: i64) -> String {
    let sign = if micros < 0 { "-" } else { "" };
    let micros = micros.unsigned_abs();
    format!("{sign}${}.{:06}", micros / 1_000_000, micros % 1_000_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dollars_are_shown_to_the_micro_dollar() {
        assert_eq!(dollars(1_500_000), "$1.500000");
        assert_eq!(dollars(42), "$0.000042");
        assert_eq!(dollars(-3), "-$0.000003");
    }
}
