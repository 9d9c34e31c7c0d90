//! The caller's load-balancing strategy, and the load on their instances and on the providers.

use gpuproxy_domain::Principal;
use gpuproxy_errors::ErrorCode;
use gpuproxy_proto::gpuproxy::reservation::v1 as reservation;

use crate::Error;
use crate::operations::Operations;

/// Which loads a caller asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoadKind {
    /// The caller's instances.
    Server,
    /// The providers.
    Provider,
    /// Both.
    All,
}

impl LoadKind {
    /// Parses `type`; empty is all.
    pub fn parse(text: &str) -> Result<Self, Error> {
        match text.trim() {
            "server" => Ok(LoadKind::Server),
            "provider" => Ok(LoadKind::Provider),
            "" | "all" => Ok(LoadKind::All),
            _ => Err(Error::new(
                ErrorCode::ValidationFailed,
                "type must be server, provider or all",
            )
            .with_field("type")),
        }
    }
}

/// One provider's load, as the catalog sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct ProviderLoad {
    /// The provider.
    pub provider: String,
    /// Offers available.
    pub connections: i32,
    /// Average latency of recent calls, ms.
    pub avg_response_time_ms: f64,
    /// Share of recent calls that failed, 0..1.
    pub load_score: f64,
}

/// The caller's strategy and the loads asked for.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadReport {
    /// The caller's instances in rotation (none when only providers were asked for) and strategy.
    pub servers: reservation::GetLoadInfoResponse,
    /// The providers (none when only instances were asked for).
    pub providers: Vec<ProviderLoad>,
}

impl Operations {
    /// Returns `caller`'s instance loads (with their strategy) and the providers' loads, as asked.
    pub async fn load_report(&self, caller: &Principal, kind: LoadKind) -> Result<LoadReport, Error> {
        let servers = self
            .call(
                self.reservation
                    .clone()
                    .get_load_info(reservation::GetLoadInfoRequest {
                        user_id: caller.user_id.to_string(),
                        instance_id: String::new(),
                    }),
            )
            .await?;
        let servers = if kind == LoadKind::Provider {
            reservation::GetLoadInfoResponse {
                server_load: Vec::new(),
                ..servers
            }
        } else {
            servers
        };
        let providers = if kind == LoadKind::Server {
            Vec::new()
        } else {
            self.health
                .providers()
                .await
                .into_iter()
                .map(|provider| ProviderLoad {
                    provider: provider.provider,
                    connections: provider.offers,
                    avg_response_time_ms: provider.avg_latency_ms,
                    load_score: provider.error_rate,
                })
                .collect()
        };
        Ok(LoadReport { servers, providers })
    }

    /// Returns the load of one of `caller`'s instances in rotation; `NOT_FOUND` for any other.
    pub async fn instance_load(
        &self,
        caller: &Principal,
        instance_id: &str,
    ) -> Result<reservation::InstanceLoad, Error> {
        if instance_id.trim().is_empty() {
            return Err(
                Error::new(ErrorCode::ValidationFailed, "instance_id is required").with_field("instance_id")
            );
        }
        let found = self
            .call(
                self.reservation
                    .clone()
                    .get_load_info(reservation::GetLoadInfoRequest {
                        user_id: caller.user_id.to_string(),
                        instance_id: instance_id.to_owned(),
                    }),
            )
            .await?;
        found
            .server_load
            .into_iter()
            .next()
            .ok_or_else(|| Error::new(ErrorCode::NotFound, "no such running instance"))
    }

    /// Returns `caller`'s strategy (`LB_STRATEGY` until they choose one).
    pub async fn strategy(&self, caller: &Principal) -> Result<String, Error> {
        let request = reservation::GetStrategyRequest {
            user_id: caller.user_id.to_string(),
        };
        let strategy = self.call(self.reservation.clone().get_strategy(request)).await?;
        Ok(strategy.strategy)
    }

    /// Switches `caller`'s strategy; their next request uses it.
    pub async fn set_strategy(&self, caller: &Principal, strategy: String) -> Result<String, Error> {
        let request = reservation::SetStrategyRequest {
            user_id: caller.user_id.to_string(),
            strategy,
        };
        let strategy = self.call(self.reservation.clone().set_strategy(request)).await?;
        Ok(strategy.strategy)
    }
}
