//! Money before and after renting: credits and guard rails are checked with the estimated cost
//! before an instance is rented, and the run time actually used is billed to both afterwards.

use std::time::Duration;

use gpuproxy_errors::ErrorCode;
use gpuproxy_proto::gpuproxy::billing::v1 as billing;
use gpuproxy_proto::gpuproxy::billing::v1::billing_service_client::BillingServiceClient;
use gpuproxy_proto::gpuproxy::guardrails::v1 as guardrails;
use gpuproxy_proto::gpuproxy::guardrails::v1::guardrails_service_client::GuardrailsServiceClient;
use gpuproxy_server::GrpcChannel;

use crate::error::Error;

/// The billing service and the guard rails, as the reservation service uses them.
#[derive(Debug, Clone)]
pub struct Spending {
    billing: BillingServiceClient<GrpcChannel>,
    guardrails: GuardrailsServiceClient<GrpcChannel>,
    /// `CREDITS_ENFORCED`: refuse rents the balance or a guard-rail window cannot cover.
    enforced: bool,
    /// `CREDITS_STOP_INSTANCES_AT_CAP`: destroy a user's instances once their balance hits the cap.
    stop_at_cap: bool,
    timeout: Duration,
}

impl Spending {
    /// Talks to `billing` and `guardrails`.
    pub fn new(
        billing: GrpcChannel,
        guardrails: GrpcChannel,
        enforced: bool,
        stop_at_cap: bool,
        timeout: Duration,
    ) -> Self {
        Spending {
            billing: BillingServiceClient::new(billing),
            guardrails: GuardrailsServiceClient::new(guardrails),
            enforced,
            stop_at_cap,
            timeout,
        }
    }

    /// Whether the cap stops instances.
    pub fn stops_at_cap(&self) -> bool {
        self.stop_at_cap
    }

    /// Admits `estimate` of new spending under `hold_id` when enforced: holds it in the user's
    /// credits (`CREDITS_EXHAUSTED` when the balance less what is already held cannot cover it)
    /// and reserves it in every guard-rail window (`SPENDING_LIMIT_EXCEEDED`), each in one atomic
    /// step, so concurrent rents can never both pass on the same money. Metering under the hold
    /// takes from it rather than counting twice.
    pub async fn admit(&self, user_id: &str, hold_id: &str, estimate: i64) -> Result<(), Error> {
        if !self.enforced || estimate <= 0 {
            return Ok(());
        }
        let held = self
            .within(self.billing.clone().hold_credits(billing::HoldCreditsRequest {
                user_id: user_id.to_owned(),
                hold_id: hold_id.to_owned(),
                amount_micros: estimate,
                ttl_ms: 0,
            }))
            .await?;
        if !held.allowed {
            let (balance, on_hold) = held
                .credits
                .map_or((0, 0), |credits| (credits.balance_micros, credits.held_micros));
            return Err(Error::Refused {
                code: ErrorCode::CreditsExhausted,
                message: format!(
                    "credits exhausted: an hour of the GPUs asked for costs {}, the balance is {} with {} held for GPUs starting",
                    gpuproxy_domain::UsdMicros::from_micros(estimate),
                    gpuproxy_domain::UsdMicros::from_micros(balance),
                    gpuproxy_domain::UsdMicros::from_micros(on_hold)
                ),
            });
        }
        let reserved = self
            .within(
                self.guardrails
                    .clone()
                    .reserve_spend(guardrails::ReserveSpendRequest {
                        user_id: user_id.to_owned(),
                        amount_micros: estimate,
                        idempotency_key: guard_rail_key(hold_id),
                    }),
            )
            .await;
        match reserved {
            Ok(reserved) if reserved.allowed => Ok(()),
            Ok(refused) => {
                // The guard rails counted nothing: only the credits held it.
                self.release_credits(user_id, hold_id, 0).await;
                Err(Error::Refused {
                    code: ErrorCode::SpendingLimitExceeded,
                    message: format!("spending limit exceeded: {}", refused.reason),
                })
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
    /// or an unused hour costs the user no room under their limits, while the minutes metered from
    /// the hold stay counted. A failure only over-counts: the hold expires within the hour, the
    /// guard rails' windows slide on.
    pub async fn give_back(&self, user_id: &str, hold_id: &str, amount: i64) {
        let Some(released) = self.release_credits(user_id, hold_id, amount).await else {
            return;
        };
        if released <= 0 {
            return;
        }
        let given = self
            .within(
                self.guardrails
                    .clone()
                    .release_spend(guardrails::ReleaseSpendRequest {
                        user_id: user_id.to_owned(),
                        idempotency_key: guard_rail_key(hold_id),
                        amount_micros: released,
                    }),
            )
            .await;
        if let Err(error) = given {
            tracing::warn!(%error, user_id, hold_id, "giving a guard-rail reservation back failed; it stays counted");
        }
    }

    /// Gives `amount` (0 = all that is left) of a credit hold back; returns what it gave back, or
    /// `None` when nothing was (not enforced, no such hold, billing failed).
    async fn release_credits(&self, user_id: &str, hold_id: &str, amount: i64) -> Option<i64> {
        if !self.enforced || amount < 0 {
            return None;
        }
        let released = self
            .within(self.billing.clone().release_hold(billing::ReleaseHoldRequest {
                user_id: user_id.to_owned(),
                hold_id: hold_id.to_owned(),
                amount_micros: amount,
            }))
            .await;
        match released {
            Ok(released) => Some(released.released_micros),
            // Never held (admitted before holds, or nothing to hold).
            Err(Error::Refused {
                code: ErrorCode::NotFound,
                ..
            }) => None,
            Err(error) => {
                tracing::warn!(%error, user_id, hold_id, "releasing a credit hold failed; it expires within the hour");
                None
            }
        }
    }

    /// Bills run time: a usage record in billing and, in the guard rails, what its hold did not
    /// cover (admission reserved that part already), both idempotent by `key`. Returns what billing
    /// recorded.
    pub async fn bill(
        &self,
        usage: billing::RecordUsageRequest,
    ) -> Result<billing::RecordUsageResponse, Error> {
        let recorded = self
            .within(self.billing.clone().record_usage(usage.clone()))
            .await?;
        let amount =
            recorded.usage.as_ref().map_or(0, |usage| usage.cost_micros) - recorded.hold_consumed_micros;
        if amount > 0 {
            self.within(
                self.guardrails
                    .clone()
                    .record_spending(guardrails::RecordSpendingRequest {
                        user_id: usage.user_id,
                        amount_micros: amount,
                        idempotency_key: usage.idempotency_key,
                    }),
            )
            .await?;
        }
        Ok(recorded)
    }

    async fn within<T>(
        &self,
        call: impl Future<Output = Result<tonic::Response<T>, tonic::Status>>,
    ) -> Result<T, Error> {
        match tokio::time::timeout(self.timeout, call).await {
            Ok(Ok(response)) => Ok(response.into_inner()),
            Ok(Err(status)) => Err(Error::Refused {
                code: gpuproxy_errors::code_of(&status),
                message: status.message().to_owned(),
            }),
            Err(_) => Err(Error::Refused {
                code: ErrorCode::Timeout,
                message: "billing or the guard rails did not answer in time".to_owned(),
            }),
        }
    }
}

/// The key a hold's admission reserves under in the guard rails.
fn guard_rail_key(hold_id: &str) -> String {
    format!("hold:{hold_id}")
}
