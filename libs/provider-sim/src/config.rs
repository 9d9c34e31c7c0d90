//! What a simulator run looks like: its seed, market sizes, API keys and timings.

use std::time::Duration;

/// Settings of one simulator; `Default` gives the values the bin and most tests use.
#[derive(Clone, Debug, PartialEq)]
pub struct SimConfig {
    /// Seeds every generated offer, device and price: the same seed gives byte-identical searches.
    pub seed: u64,
    /// How many vast.ai offers the market starts with.
    pub vastai_offers: usize,
    /// How many io.net devices the free pool starts with.
    pub ionet_devices: usize,
    /// The only key vast.ai accepts, as `Authorization: Bearer` or `?api_key=`.
    pub vastai_api_key: String,
    /// The only key io.net accepts, as `x-api-key`.
    pub ionet_api_key: String,
    /// Time from create until a vast instance reports `"loading"`; clamped to `running_after`.
    pub loading_after: Duration,
    /// Time from create until an instance or deployment reports `"running"` and serves traffic.
    pub running_after: Duration,
    /// io.net credit balance that deployments are prepaid from.
    pub ionet_credits_usd: f64,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            seed: 42,
            vastai_offers: 2000,
            ionet_devices: 2000,
            vastai_api_key: "sim-vastai-key".to_owned(),
            ionet_api_key: "sim-ionet-key".to_owned(),
            loading_after: Duration::from_millis(200),
            running_after: Duration::from_secs(1),
            ionet_credits_usd: 1_000_000.0,
        }
    }
}
