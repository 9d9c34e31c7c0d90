//! The provider simulator, which stands in for vast.ai and io.net when no key is configured.

use std::net::SocketAddr;

use gpuproxy_config::Reader;
use gpuproxy_provider_sim::{SimConfig, Simulator};
use gpuproxy_server::Tasks;

use crate::args::Role;

/// When the catalog talks to the provider simulator instead of the real marketplaces
/// (`PROVIDER_SIMULATOR`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SimulatorMode {
    /// The embedded server runs it when no provider has an API key; a fleet catalog never does, so a
    /// forgotten key cannot put simulated GPUs in front of paying users.
    Auto,
    /// Always, for every provider without a key (docker-compose demos, load tests).
    On,
    /// Never.
    Off,
}

/// How the simulator is run when it is (`PROVIDER_SIM_*`).
#[derive(Debug, Clone, Copy)]
pub struct SimulatorSettings {
    /// `PROVIDER_SIMULATOR`.
    pub mode: SimulatorMode,
    /// `PROVIDER_SIM_PORT` on loopback; 0 picks a free port.
    pub port: u16,
    /// `PROVIDER_SIM_SEED`: the same seed gives the same marketplace.
    pub seed: u64,
    /// `PROVIDER_SIM_OFFERS`: offers (vast.ai) and devices (io.net) in the market.
    pub offers: usize,
}

impl SimulatorSettings {
    /// Reads the `PROVIDER_SIM*` variables.
    pub fn read(reader: &mut Reader<'_>) -> Self {
        SimulatorSettings {
            mode: reader.choice(
                "PROVIDER_SIMULATOR",
                SimulatorMode::Auto,
                &[
                    ("auto", SimulatorMode::Auto),
                    ("on", SimulatorMode::On),
                    ("off", SimulatorMode::Off),
                ],
            ),
            port: reader.number("PROVIDER_SIM_PORT", 0u16, 0..=u16::MAX),
            seed: reader.number("PROVIDER_SIM_SEED", 42u64, 0..=u64::MAX),
            offers: reader.number("PROVIDER_SIM_OFFERS", 2000usize, 1..=100_000),
        }
    }
}

/// Starts the simulator when this process runs the catalog and the settings call for it, pointing
/// every provider of `catalog` without a key at it; it stops when `tasks` shut down. Returns its URL.
pub async fn start_if_needed(
    role: Role,
    settings: SimulatorSettings,
    catalog: &mut gpuproxy_catalog::Config,
    tasks: &Tasks,
) -> anyhow::Result<Option<String>> {
    if !role.runs(&gpuproxy_config::CATALOG) {
        return Ok(None);
    }
    let market = &catalog.marketplace;
    let no_keys = market.vastai_api_key.is_none() && market.ionet_api_key.is_none();
    let simulate = match settings.mode {
        SimulatorMode::On => true,
        SimulatorMode::Auto => no_keys && role == Role::All,
        SimulatorMode::Off => false,
    };
    if !simulate {
        return Ok(None);
    }
    let sim_config = SimConfig {
        seed: settings.seed,
        vastai_offers: settings.offers,
        ionet_devices: settings.offers,
        ..SimConfig::default()
    };
    let listener = gpuproxy_server::bind(SocketAddr::from(([127, 0, 0, 1], settings.port))).await?;
    let simulator = Simulator::start(sim_config.clone(), listener).await?;
    let url = simulator.base_url();
    tracing::warn!(
        %url,
        "no provider API key is set: vast.ai and io.net are SIMULATED by a local server (set VASTAI_API_KEY / IONET_API_KEY for the real marketplaces)"
    );
    catalog
        .marketplace
        .simulate_missing(&url, &sim_config.vastai_api_key, &sim_config.ionet_api_key);
    let token = tasks.token();
    tasks.spawn("provider-simulator", async move {
        token.cancelled().await;
        simulator.shutdown().await;
        Ok(())
    });
    Ok(Some(url))
}
