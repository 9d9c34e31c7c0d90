//! Load balancer variables (`LB_*`), read by the reservation service.

use gpuproxy_config::Reader;
use gpuproxy_domain::LbStrategy;

/// The load balancer's start-up settings; the strategy can be switched at run time.
#[derive(Debug, Clone, Copy)]
pub struct LoadBalancerConfig {
    /// `LB_ENABLED`: when false, requests go to the first running instance.
    pub enabled: bool,
    /// `LB_STRATEGY`.
    pub strategy: LbStrategy,
}

impl LoadBalancerConfig {
    /// Reads the load balancer variables.
    pub fn read(reader: &mut Reader<'_>) -> Self {
        LoadBalancerConfig {
            enabled: reader.bool("LB_ENABLED", true),
            strategy: reader.parse("LB_STRATEGY", LbStrategy::RoundRobin),
        }
    }
}
