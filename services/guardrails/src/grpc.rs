//! The internal gRPC API: converts messages to use-case calls and back.

use gpuproxy_domain::{SpendWindow, UsdMicros, UserId};
use gpuproxy_proto::gpuproxy::guardrails::v1 as pb;
use gpuproxy_proto::gpuproxy::guardrails::v1::guardrails_service_server::GuardrailsService;
use tonic::{Request, Response, Status};

use crate::error::Error;
use crate::limits::{UserWindowLimit, parse_window};
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

fn user(text: &str) -> Result<UserId, Error> {
    Ok(text.parse()?)
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

fn user_limits(user_id: UserId, limits: &[UserWindowLimit]) -> pb::UserLimits {
    pb::UserLimits {
        user_id: user_id.to_string(),
        windows: limits
            .iter()
            .map(|limit| pb::UserWindowLimit {
                window: limit.window.label(),
                limit_micros: limit.limit.micros(),
                global_limit_micros: limit.global.micros(),
                overridden: limit.overridden,
            })
            .collect(),
    }
}

fn window_limits(limits: &[pb::WindowLimit]) -> Result<Vec<(SpendWindow, UsdMicros)>, Error> {
    limits
        .iter()
        .map(|limit| {
            let window = parse_window("limits", &limit.window)?;
            Ok((window, UsdMicros::from_micros(limit.limit_micros)))
        })
        .collect()
}

#[tonic::async_trait]
impl GuardrailsService for GrpcGuardrails {
    async fn get_spending_info(
        &self,
        request: Request<pb::GetSpendingInfoRequest>,
    ) -> Result<Response<pb::SpendingInfo>, Status> {
        let spending = self
            .guardrails
            .spending(user(&request.get_ref().user_id)?)
            .await?;
        Ok(Response::new(info(&spending)))
    }

    async fn check_spending_limit(
        &self,
        request: Request<pb::CheckSpendingLimitRequest>,
    ) -> Result<Response<pb::CheckSpendingLimitResponse>, Status> {
        let request = request.into_inner();
        let checked = self
            .guardrails
            .check(
                user(&request.user_id)?,
                UsdMicros::from_micros(request.amount_micros),
            )
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
                user(&request.user_id)?,
                UsdMicros::from_micros(request.amount_micros),
                &request.idempotency_key,
            )
            .await?;
        Ok(Response::new(decision(&reserved)))
    }

    async fn release_spend(
        &self,
        request: Request<pb::ReleaseSpendRequest>,
    ) -> Result<Response<pb::ReleaseSpendResponse>, Status> {
        let request = request.into_inner();
        let (released, spending) = self
            .guardrails
            .release(
                user(&request.user_id)?,
                UsdMicros::from_micros(request.amount_micros),
                &request.idempotency_key,
            )
            .await?;
        Ok(Response::new(pb::ReleaseSpendResponse {
            released_micros: released.micros(),
            spending: Some(info(&spending)),
        }))
    }

    async fn record_spending(
        &self,
        request: Request<pb::RecordSpendingRequest>,
    ) -> Result<Response<pb::SpendingInfo>, Status> {
        let request = request.into_inner();
        let spending = self
            .guardrails
            .record(
                user(&request.user_id)?,
                UsdMicros::from_micros(request.amount_micros),
                &request.idempotency_key,
            )
            .await?;
        Ok(Response::new(info(&spending)))
    }

    async fn reset(&self, request: Request<pb::ResetRequest>) -> Result<Response<pb::SpendingInfo>, Status> {
        let request = request.into_inner();
        let window = match request.window.trim() {
            "" => None,
            label => Some(parse_window("window", label)?),
        };
        let spending = self.guardrails.reset(user(&request.user_id)?, window).await?;
        Ok(Response::new(info(&spending)))
    }

    async fn get_status(
        &self,
        _request: Request<pb::GetStatusRequest>,
    ) -> Result<Response<pb::GuardrailsStatus>, Status> {
        let limits = self.guardrails.limits();
        Ok(Response::new(pb::GuardrailsStatus {
            enabled: self.guardrails.enabled(),
            mode: self.guardrails.mode().label().to_owned(),
            limits: limits
                .global()
                .iter()
                .map(|(window, limit)| pb::WindowLimit {
                    window: window.label(),
                    limit_micros: limit.micros(),
                })
                .collect(),
            limits_cache_ttl_ms: i64::try_from(limits.cache_ttl().as_millis()).unwrap_or(i64::MAX),
        }))
    }

    async fn get_user_limits(
        &self,
        request: Request<pb::GetUserLimitsRequest>,
    ) -> Result<Response<pb::UserLimits>, Status> {
        let user_id = user(&request.get_ref().user_id)?;
        let limits = self.guardrails.limits().of(user_id).await?;
        Ok(Response::new(user_limits(user_id, &limits)))
    }

    async fn set_user_limits(
        &self,
        request: Request<pb::SetUserLimitsRequest>,
    ) -> Result<Response<pb::UserLimits>, Status> {
        let request = request.get_ref();
        let user_id = user(&request.user_id)?;
        let overrides = window_limits(&request.limits)?;
        let limits = self
            .guardrails
            .limits()
            .set(user_id, &overrides, &request.set_by)
            .await?;
        Ok(Response::new(user_limits(user_id, &limits)))
    }

    async fn clear_user_limits(
        &self,
        request: Request<pb::ClearUserLimitsRequest>,
    ) -> Result<Response<pb::UserLimits>, Status> {
        let request = request.get_ref();
        let user_id = user(&request.user_id)?;
        let windows = request
            .windows
            .iter()
            .map(|label| parse_window("windows", label))
            .collect::<Result<Vec<_>, _>>()?;
        let limits = self.guardrails.limits().clear(user_id, &windows).await?;
        Ok(Response::new(user_limits(user_id, &limits)))
    }
}
