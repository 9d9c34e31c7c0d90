//! Runs the provider simulator until Ctrl-C or SIGTERM: `gpuproxy-provider-sim --listen 127.0.0.1:8099`.

mod cli_args;

use anyhow::Context;
use clap::Parser;
use gpuproxy_provider_sim::Simulator;
use tokio::net::TcpListener;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt().with_env_filter(filter).init();
    let args = cli_args::Args::parse();
    let listener = TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("binding {}", args.listen))?;
    let simulator = Simulator::start(args.config(), listener).await?;
    tracing::info!(base_url = %simulator.base_url(), "provider simulator listening; Ctrl-C stops it");
    gpuproxy_server::shutdown_signal().await;
    simulator.shutdown().await;
    Ok(())
}
