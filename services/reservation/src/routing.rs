//! The load balancer's use cases: strategies (stored, so a restart keeps them), picks, results and
//! load reports.

use std::time::Duration;

use gpuproxy_domain::{LbStrategy, UserId, now_ms};
use gpuproxy_proto::gpuproxy::reservation::v1 as pb;

use crate::error::Error;
use crate::repo::strategies;
use crate::service::Reservations;

impl Reservations {
    /// Returns `user_id`'s strategy.
    pub fn strategy(&self, user_id: UserId) -> LbStrategy {
        self.balancer().strategy(user_id)
    }

    /// Stores and applies `user_id`'s strategy; the next pick uses it, no restart needed.
    pub async fn set_strategy(&self, user_id: UserId, text: &str) -> Result<LbStrategy, Error> {
        let strategy: LbStrategy = text
            .parse()
            .map_err(|error: gpuproxy_domain::UnknownLbStrategy| {
                Error::invalid("strategy", error.to_string())
            })?;
        strategies::upsert(self.database().pool(), user_id, strategy.as_str(), now_ms()).await?;
        self.balancer().set_strategy(user_id, strategy);
        tracing::info!(%user_id, %strategy, "load-balancing strategy changed");
        Ok(strategy)
    }

    /// Loads every stored strategy into the balancer (at start-up).
    pub async fn restore_strategies(&self) -> Result<(), Error> {
        for (user_id, text) in strategies::all(self.database().pool()).await? {
            match (user_id.parse(), text.parse()) {
                (Ok(user), Ok(strategy)) => self.balancer().set_strategy(user, strategy),
                _ => tracing::warn!(
                    user_id,
                    strategy = text,
                    "ignoring a stored strategy of no known user or kind"
                ),
            }
        }
        Ok(())
    }

    /// Picks one of `user_id`'s running, healthy instances and counts a request on it.
    pub fn pick_target(&self, user_id: UserId) -> Result<pb::Target, Error> {
        let picked = self.balancer().pick(user_id, now_ms()).ok_or_else(|| {
            Error::NoHealthyInstance(
                "no running, healthy instance to send the request to: reserve or create one first, or wait until it runs"
                    .to_owned(),
            )
        })?;
        Ok(pb::Target {
            instance_id: picked.instance_id,
            provider: picked.provider,
            base_url: picked.base_url,
            strategy: picked.strategy.as_str().to_owned(),
        })
    }

    /// Ends a request counted by [`Reservations::pick_target`] (`picked`), or records one the caller
    /// sent to its instance by URL.
    pub fn report_result(&self, instance_id: &str, success: bool, latency_micros: i64, picked: bool) {
        let latency = Duration::from_micros(u64::try_from(latency_micros).unwrap_or(0));
        self.balancer()
            .report(instance_id, success, latency, picked, now_ms());
    }

    /// Returns the figures of `user_id`'s instances in rotation (or of one, by `instance_id`).
    pub fn load_info(&self, user_id: UserId, instance_id: &str) -> Result<pb::GetLoadInfoResponse, Error> {
        let loads: Vec<pb::InstanceLoad> = self
            .balancer()
            .loads(user_id)
            .into_iter()
            .filter(|entry| instance_id.is_empty() || entry.member.instance_id == instance_id)
            .map(|entry| pb::InstanceLoad {
                instance_id: entry.member.instance_id,
                provider: entry.member.provider,
                active_connections: i32::try_from(entry.load.active).unwrap_or(i32::MAX),
                total_connections: i64::try_from(entry.load.total).unwrap_or(i64::MAX),
                avg_response_time_ms: entry.load.avg_response_ms.unwrap_or(0.0),
                last_response_time_ms: entry.load.last_response_ms,
                weight: entry.member.weight,
                last_used_ms: entry.load.last_used_ms.unwrap_or(0),
                load_score: entry.load.failure_rate,
                healthy: entry.healthy,
                failed_requests: i64::try_from(entry.load.failed).unwrap_or(i64::MAX),
            })
            .collect();
        if !instance_id.is_empty() && loads.is_empty() {
            return Err(Error::not_found("running instance", instance_id));
        }
        Ok(pb::GetLoadInfoResponse {
            server_load: loads,
            current_strategy: self.strategy(user_id).as_str().to_owned(),
        })
    }
}
