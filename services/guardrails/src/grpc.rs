//! The internal gRPC API: converts messages to use-case calls and back.

use gpuproxy_domain::UsdMicros;
use gpuproxy_proto::gpuproxy::guardrails::v1 as pb;
use gpuproxy_proto::gpuproxy::guardrails::v1::guardrails_service_server::GuardrailsService;
use tonic::{Request, Response, Status};

use crate::spending::{Decision, Guardrails, Spending, WindowState};

/// The gRPC face of [`Guardrails`].
#[derive(Debug, Clone)]
pub struct GrpcGuardrails {
    guardrails: Guardrails,
}

impl GrpcGuardrails {
    /// Wraps `guardrails`.
    pub fn new(guardrails: Guardrails) -> Self {
        GrpcGuardrails { guardrails }
    }
}

fn window(state: &WindowState) -> pb::SpendingWindow {
    pb::SpendingWindow {
        window: state.window.label(),
        spent_micros: state.spent.micros(),
        limit_micros: state.limit.micros(),
        remaining_micros: state.remaining.micros(),
        exceeded: state.exceeded,
    }
}

fn info(spending: &Spending) -> pb::SpendingInfo {
    pb::SpendingInfo {
        windows: spending.windows.iter().map(window).collect(),
        guard_rails_enabled: spending.enabled,
        total_spent_24h_micros: spending.total_24h.micros(),
    }
}

fn decision(decision: &Decision) -> pb::CheckSpendingLimitResponse {
    pb::CheckSpendingLimitResponse {
        allowed: decision.allowed,
        reason: decision.violations.join("; "),
        would_exceed: decision.would_exceed.iter().map(window).collect(),
        spending: Some(info(&decision.spending)),
    }
}

#[tonic::async_trait]
impl GuardrailsService for GrpcGuardrails {
    async fn get_spending_info(
        &self,
        request: Request<pb::GetSpendingInfoRequest>,
    ) -> Result<Response<pb::SpendingInfo>, Status> {
        let spending = self.guardrails.spending(&request.get_ref().user_id).await?;
        Ok(Response::new(info(&spending)))
    }

    async fn check_spending_limit(
        &self,
        request: Request<pb::CheckSpendingLimitRequest>,
    ) -> Result<Response<pb::CheckSpendingLimitResponse>, Status> {
        let request = request.into_inner();
        let checked = self
            .guardrails
            .check(&request.user_id, UsdMicros::from_micros(request.amount_micros))
            .await?;
        Ok(Response::new(decision(&checked)))
    }

    async fn reserve_spend(
        &self,
        request: Request<pb::ReserveSpendRequest>,
    ) -> Result<Response<pb::CheckSpendingLimitResponse>, Status> {
        let request = request.into_inner();
        let reserved = self
            .guardrails
            .reserve(
                &request.user_id,
                UsdMicros::from_micros(request.amount_micros),
                &request.idempotency_key,
            )
            .await?;
        Ok(Response::new(decision(&reserved)))
    }

    async fn record_spending(
        &self,
        request: Request<pb::RecordSpendingRequest>,
    ) -> Result<Response<pb::SpendingInfo>, Status> {
        let request = request.into_inner();
        let spending = self
            .guardrails
            .record(
                &request.user_id,
                UsdMicros::from_micros(request.amount_micros),
                &request.idempotency_key,
            )
            .await?;
        Ok(Response::new(info(&spending)))
    }

    async fn reset(&self, request: Request<pb::ResetRequest>) -> Result<Response<pb::SpendingInfo>, Status> {
        let spending = self.guardrails.reset(&request.get_ref().user_id).await?;
        Ok(Response::new(info(&spending)))
    }
}
