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

    /// Refuses `estimate` of new spending when enforced and either the user's credits
    /// (`CREDITS_EXHAUSTED`) or a guard-rail window (`SPENDING_LIMIT_EXCEEDED`) cannot cover it.
    pub async fn admit(&self, user_id: &str, estimate: i64) -> Result<(), Error> {
        if !self.enforced || estimate <= 0 {
            return Ok(());
        }
        let credits = self
            .within(self.billing.clone().check_credits(billing::CheckCreditsRequest {
                user_id: user_id.to_owned(),
                amount_micros: estimate,
            }))
            .await?;
        if !credits.allowed {
            let balance = credits.credits.map_or(0, |credits| credits.balance_micros);
            return Err(Error::Refused {
                code: ErrorCode::CreditsExhausted,
                message: format!(
                    "credits exhausted: an hour of the GPUs asked for costs {}, the balance is {}",
                    gpuproxy_domain::UsdMicros::from_micros(estimate),
                    gpuproxy_domain::UsdMicros::from_micros(balance)
                ),
            });
        }
        let checked =
            self.within(self.guardrails.clone().check_spending_limit(
                guardrails::CheckSpendingLimitRequest {
                    user_id: user_id.to_owned(),
                    amount_micros: estimate,
                },
            ))
            .await?;
        if !checked.allowed {
            return Err(Error::Refused {
                code: ErrorCode::SpendingLimitExceeded,
                message: format!("spending limit exceeded: {}", checked.reason),
            });
        }
        Ok(())
    }

    /// Bills run time: a usage record in billing and the same amount in the guard rails, both
    /// idempotent by `key`. Returns what billing recorded.
    pub async fn bill(
        &self,
        usage: billing::RecordUsageRequest,
    ) -> Result<billing::RecordUsageResponse, Error> {
        let recorded = self
            .within(self.billing.clone().record_usage(usage.clone()))
            .await?;
        let amount = recorded.usage.as_ref().map_or(0, |usage| usage.cost_micros);
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
