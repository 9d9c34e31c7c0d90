//! `aiserve-gpuproxyd`.

use std::fmt::Display;
use std::process::ExitCode;

use gpuproxy_config::EnvMap;
use gpuproxy_daemon::{Args, DaemonConfig, banner, init_telemetry, run_until_shutdown, start};

/// glibc's allocator spends a fifth of a busy proxy's time in its own locks and consolidation;
/// mimalloc's per-thread heaps do not (bench-reports/proxy_overhead.md: 57 % more requests per second).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::from_process();
    let config = match EnvMap::load().and_then(|env| DaemonConfig::from_env_map(&env, args.developer_mode)) {
        Ok(config) => config,
        Err(errors) => return fail(2, errors),
    };
    let _telemetry = match init_telemetry(&config, args.debug_mode) {
        Ok(guard) => guard,
        Err(error) => return fail(2, format!("cannot set up logging: {error:#}")),
    };
    match start(args.service, config.clone()).await {
        Ok(running) => {
            #[expect(
                clippy::print_stdout,
                reason = "the banner answers whoever started the daemon"
            )]
            let () = print!("{}", banner(&running, &config));
            run_until_shutdown(running, config.shutdown_timeout).await
        }
        Err(error) => {
            tracing::error!(error = format!("{error:#}"), "start-up failed");
            fail(1, format!("{error:#}"))
        }
    }
}

fn fail(code: u8, message: impl Display) -> ExitCode {
    eprintln!("aiserve-gpuproxyd: {message}");
    ExitCode::from(code)
}
