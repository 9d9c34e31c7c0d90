//! `get_load_info` and `set_lb_strategy`: the caller's load balancer.

use gpuproxy_proto::gpuproxy::reservation::v1 as reservation;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::actions::Actions;
use crate::{ActionError, Caller};

/// Whose load.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LoadInput {
    /// One instance's id; all of the caller's instances when unset.
    #[serde(default)]
    pub instance_id: Option<String>,
}

/// The load of one instance.
#[derive(Debug, Serialize, JsonSchema)]
pub struct InstanceLoadOutput {
    /// The instance.
    pub instance_id: String,
    /// Its provider.
    pub provider: String,
    /// Requests in flight.
    pub active_connections: i32,
    /// Requests ever sent.
    pub total_connections: i64,
    /// Average response time, ms.
    pub avg_response_time_ms: f64,
    /// Its weight in the `weighted_round_robin` strategy.
    pub weight: f64,
    /// Whether it receives traffic.
    pub healthy: bool,
    /// Requests that failed.
    pub failed_requests: i64,
}

/// The caller's load balancer.
#[derive(Debug, Serialize, JsonSchema)]
pub struct LoadOutput {
    /// The strategy picking instances.
    pub current_strategy: String,
    /// One entry per instance in rotation.
    pub server_load: Vec<InstanceLoadOutput>,
}

/// A strategy to use.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StrategyInput {
    /// `round_robin`, `equal_weighted`, `weighted_round_robin`, `least_connections` or
    /// `least_response_time`.
    pub strategy: String,
}

/// The strategy in use.
#[derive(Debug, Serialize, JsonSchema)]
pub struct StrategyOutput {
    /// The strategy now picking the caller's instances.
    pub strategy: String,
}

impl Actions {
    pub(super) async fn load_info(
        &self,
        caller: Caller,
        input: LoadInput,
    ) -> Result<LoadOutput, ActionError> {
        let request = reservation::GetLoadInfoRequest {
            user_id: caller.user_id.to_string(),
            instance_id: input.instance_id.unwrap_or_default(),
        };
        let load = self
            .call_owner(self.reservation.clone().get_load_info(request))
            .await?;
        Ok(LoadOutput {
            current_strategy: load.current_strategy,
            server_load: load
                .server_load
                .into_iter()
                .map(|instance| InstanceLoadOutput {
                    instance_id: instance.instance_id,
                    provider: instance.provider,
                    active_connections: instance.active_connections,
                    total_connections: instance.total_connections,
                    avg_response_time_ms: instance.avg_response_time_ms,
                    weight: instance.weight,
                    healthy: instance.healthy,
                    failed_requests: instance.failed_requests,
                })
                .collect(),
        })
    }

    pub(super) async fn set_strategy(
        &self,
        caller: Caller,
        input: StrategyInput,
    ) -> Result<StrategyOutput, ActionError> {
        let request = reservation::SetStrategyRequest {
            user_id: caller.user_id.to_string(),
            strategy: input.strategy,
        };
        let set = self
            .call_owner(self.reservation.clone().set_strategy(request))
            .await?;
        Ok(StrategyOutput {
            strategy: set.strategy,
        })
    }
}
