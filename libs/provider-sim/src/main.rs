//! Runs the provider simulator until Ctrl-C or SIGTERM: `gpuproxy-provider-sim --listen 127.0.0.1:8099`.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use gpuproxy_provider_sim::{SimConfig, Simulator};
use tokio::net::TcpListener;
use tracing_subscriber::EnvFilter;

/// Serves simulated vast.ai and io.net APIs on one port; omitted options keep `SimConfig` defaults.
#[derive(Debug, Parser)]
#[command(name = "gpuproxy-provider-sim", version)]
struct Args {
    #[arg(long, default_value = "127.0.0.1:8099")]
    listen: SocketAddr,
    #[arg(long)]
    seed: Option<u64>,
    #[arg(long)]
    vastai_offers: Option<usize>,
    #[arg(long)]
    ionet_devices: Option<usize>,
    #[arg(long)]
    vastai_api_key: Option<String>,
    #[arg(long)]
    ionet_api_key: Option<String>,
    #[arg(long)]
    running_after_ms: Option<u64>,
}

impl Args {
    fn config(self) -> SimConfig {
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

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt().with_env_filter(filter).init();
    let args = Args::parse();
    let listener = TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("binding {}", args.listen))?;
    let simulator = Simulator::start(args.config(), listener).await?;
    tracing::info!(base_url = %simulator.base_url(), "provider simulator listening; Ctrl-C stops it");
    shutdown_signal().await?;
    simulator.shutdown().await;
    Ok(())
}

/// Returns on Ctrl-C or, on Unix, SIGTERM.
async fn shutdown_signal() -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut terminate = signal(SignalKind::terminate()).context("listening for SIGTERM")?;
        tokio::select! {
            interrupted = tokio::signal::ctrl_c() => interrupted.context("waiting for Ctrl-C")?,
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    tokio::signal::ctrl_c().await.context("waiting for Ctrl-C")?;
    Ok(())
}
