//! `aiserve-gpuproxyd`.

use std::process::ExitCode;

use gpuproxy_config::EnvMap;
use gpuproxy_daemon::{Args, DaemonConfig, banner, run_until_shutdown, start};

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::from_process();
    let config = match EnvMap::load().and_then(|env| DaemonConfig::from_env_map(&env, args.developer_mode)) {
        Ok(config) => config,
        Err(errors) => {
            eprintln!("aiserve-gpuproxyd: {errors}");
            return ExitCode::from(2);
        }
    };
    let mut telemetry = config.telemetry.clone();
    if args.debug_mode {
        telemetry.log_level = "debug,h2=info,hyper=info,tower=info".to_owned();
    }
    let _telemetry = match gpuproxy_telemetry::init(&telemetry, "gpuproxyd") {
        Ok(guard) => guard,
        Err(error) => {
            eprintln!("aiserve-gpuproxyd: cannot set up logging: {error:#}");
            return ExitCode::from(2);
        }
    };
    match start(args.service, config.clone()).await {
        Ok(running) => {
            #[expect(
                clippy::print_stdout,
                reason = "the banner answers the person who started the daemon"
            )]
            {
                print!("{}", banner(&running, &config));
            }
            run_until_shutdown(running, config.shutdown_timeout).await
        }
        Err(error) => {
            tracing::error!(error = format!("{error:#}"), "start-up failed");
            eprintln!("aiserve-gpuproxyd: {error:#}");
            ExitCode::FAILURE
        }
    }
}
