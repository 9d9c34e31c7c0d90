//! The guard rails and billing, as every spender reaches them.

use gpuproxy_domain::UserId;
use std::time::Duration;

use gpuproxy_errors::ErrorCode;
use gpuproxy_proto::gpuproxy::billing::v1::billing_service_client::BillingServiceClient;
use gpuproxy_proto::gpuproxy::guardrails::v1 as guardrails;
use gpuproxy_proto::gpuproxy::guardrails::v1::guardrails_service_client::GuardrailsServiceClient;
use gpuproxy_server::GrpcChannel;

use crate::Refusal;

/// The money path: clients of billing and the guard rails. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Spending {
    pub(crate) billing: BillingServiceClient<GrpcChannel>,
    pub(crate) guardrails: GuardrailsServiceClient<GrpcChannel>,
    /// `CREDITS_ENFORCED`: admissions hold credits and reserve guard-rail room; off, they let
    /// everything through and hold nothing.
    pub(crate) admissions_enforced: bool,
    /// `SERVICE_CALL_TIMEOUT`: the longest one call to billing or the guard rails may take.
    timeout: Duration,
}

impl Spending {
    /// Talks to `billing` and `guardrails`, each call within `timeout`.
    pub fn new(
        billing: GrpcChannel,
        guardrails: GrpcChannel,
        admissions_enforced: bool,
        timeout: Duration,
    ) -> Self {
        Spending {
            billing: BillingServiceClient::new(billing),
            guardrails: GuardrailsServiceClient::new(guardrails),
            admissions_enforced,
            timeout,
        }
    }

    /// Reserves `amount` of `user_id`'s room in every guard-rail window under `key`, at most once
    /// per key; the answer says whether it fit.
    pub(crate) async fn reserve_room(
        &self,
        user_id: UserId,
        amount: i64,
        key: String,
    ) -> Result<guardrails::CheckSpendingLimitResponse, Refusal> {
        let request = guardrails::ReserveSpendRequest {
            user_id: user_id.to_string(),
            amount_micros: amount,
            idempotency_key: key,
        };
        self.within(self.guardrails.clone().reserve_spend(request)).await
    }

    /// Gives back `amount` (0 = all that is left) of what `key` reserved in the guard rails.
    pub(crate) async fn release_room(
        &self,
        user_id: UserId,
        key: String,
        amount: i64,
    ) -> Result<guardrails::ReleaseSpendResponse, Refusal> {
        let request = guardrails::ReleaseSpendRequest {
            user_id: user_id.to_string(),
            idempotency_key: key,
            amount_micros: amount,
        };
        self.within(self.guardrails.clone().release_spend(request)).await
    }

    /// Runs one call within the time limit, turning its failure into a refusal with its code.
    pub(crate) async fn within<T>(
        &self,
        call: impl Future<Output = Result<tonic::Response<T>, tonic::Status>>,
    ) -> Result<T, Refusal> {
        match tokio::time::timeout(self.timeout, call).await {
            Ok(Ok(response)) => Ok(response.into_inner()),
            Ok(Err(status)) => Err(Refusal::from(status)),
            Err(_) => Err(Refusal::new(
                ErrorCode::Timeout,
                "billing or the guard rails did not answer in time",
            )),
        }
    }
}
