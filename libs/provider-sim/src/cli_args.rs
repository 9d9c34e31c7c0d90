//! The simulator binary's command line.

use std::net::SocketAddr;
use std::time::Duration;

use clap::Parser;
use gpuproxy_provider_sim::SimConfig;

/// Serves simulated vast.ai and io.net APIs on one port; omitted options keep `SimConfig` defaults.
#[derive(Debug, Parser)]
#[command(name = "gpuproxy-provider-sim", version)]
pub struct Args {
    /// Where to listen.
    #[arg(long, default_value = "127.0.0.1:8099")]
    pub listen: SocketAddr,
    /// The market's seed: the same seed gives the same offers.
    #[arg(long)]
    seed: Option<u64>,
    /// vast.ai offers in the market.
    #[arg(long)]
    vastai_offers: Option<usize>,
    /// io.net devices in the market.
    #[arg(long)]
    ionet_devices: Option<usize>,
    /// The Bearer key vast.ai clients must send.
    #[arg(long)]
    vastai_api_key: Option<String>,
    /// The x-api-key io.net clients must send.
    #[arg(long)]
    ionet_api_key: Option<String>,
    /// Milliseconds from rent to `running`.
    #[arg(long)]
    running_after_ms: Option<u64>,
}

impl Args {
    /// Returns the simulator's configuration: the given options over `SimConfig`'s defaults.
    pub fn config(self) -> SimConfig {
        let defaults = SimConfig::default();
        SimConfig {
            seed: self.seed.unwrap_or(defaults.seed),
            vastai_offers: self.vastai_offers.unwrap_or(defaults.vastai_offers),
            ionet_devices: self.ionet_devices.unwrap_or(defaults.ionet_devices),
            vastai_api_key: self.vastai_api_key.unwrap_or(defaults.vastai_api_key),
            ionet_api_key: self.ionet_api_key.unwrap_or(defaults.ionet_api_key),
            running_after: self
                .running_after_ms
                .map_or(defaults.running_after, Duration::from_millis),
            ..defaults
        }
    }
}
