//! Building and starting the services this process runs.

use std::net::SocketAddr;

use gpuproxy_config::{AUTH, ServiceSpec};
use gpuproxy_events::EventBus;
use gpuproxy_proto::gpuproxy::auth::v1::auth_service_client::AuthServiceClient;
use gpuproxy_proto::gpuproxy::auth::v1::{GetStatsRequest, RegisterRequest, SetAdminRequest};
use gpuproxy_server::{GrpcChannel, Peers, ServiceContext, Tasks};
use gpuproxy_telemetry::Metrics;

use crate::args::Role;
use crate::config::DaemonConfig;

/// The first admin an embedded server created on its first run, to print once.
#[derive(Debug, Clone)]
pub struct FirstAdmin {
    /// The admin's email.
    pub email: String,
    /// The generated password.
    pub password: String,
}

/// What this process is running, and where.
#[derive(Debug)]
pub struct Running {
    /// Every background task; shutting them down stops the process's services.
    pub tasks: Tasks,
    /// Which services.
    pub role: Role,
    /// REST, when the gateway runs here.
    pub http_addr: Option<SocketAddr>,
    /// Public gRPC, when the gateway runs here.
    pub grpc_addr: Option<SocketAddr>,
    /// Whether public gRPC uses TLS.
    pub grpc_tls: bool,
    /// Each internal service that listens here (one running alone), with its address.
    pub internal_addrs: Vec<(&'static ServiceSpec, SocketAddr)>,
    /// What backs the services running here, as label and text, for the banner.
    pub descriptions: Vec<(&'static str, String)>,
    /// The provider simulator's base URL, when it stands in for vast.ai and io.net.
    pub simulator_url: Option<String>,
    /// Where a single internal service serves `/metrics` (`METRICS_PORT`).
    pub metrics_addr: Option<SocketAddr>,
    /// The admin created on an embedded server's first run.
    pub first_admin: Option<FirstAdmin>,
}

impl Running {
    /// Returns where the internal gRPC API of `spec` listens, when it runs alone here.
    pub fn internal_addr(&self, spec: &ServiceSpec) -> Option<SocketAddr> {
        self.internal_addrs
            .iter()
            .find(|(running, _)| *running == spec)
            .map(|(_, addr)| *addr)
    }
}

/// The email of the admin an embedded server creates on its first run.
pub const FIRST_ADMIN_EMAIL: &str = "admin@gpuproxy.local";

/// Builds and starts `role` with `config`. With [`Role::All`] every service of the table is built in
/// its order and reaches the ones before it in-process, the gateway reaches them all, and everything
/// shares one event bus; otherwise services meet over the network at their configured URLs.
pub async fn start(role: Role, mut config: DaemonConfig) -> anyhow::Result<Running> {
    let tasks = Tasks::new();
    let metrics = Metrics::new();
    let mut running = Running {
        tasks: tasks.clone(),
        role,
        http_addr: None,
        grpc_addr: None,
        grpc_tls: false,
        internal_addrs: Vec::new(),
        descriptions: Vec::new(),
        simulator_url: None,
        metrics_addr: None,
        first_admin: None,
    };
    let simulator = config.simulator;
    if let Some(catalog) = config.service_config_mut::<gpuproxy_catalog::App>() {
        running.simulator_url = crate::simulator::start_if_needed(role, simulator, catalog, &tasks).await?;
    }
    let bus = EventBus::connect(&config.nats).await?;
    let context = |peers: Peers| ServiceContext {
        bus: bus.clone(),
        metrics: metrics.clone(),
        peers,
    };
    match role {
        Role::Service(spec) => {
            if let Some(port) = config.metrics_port {
                let addr = SocketAddr::new(config.internal_host, port);
                running.metrics_addr = Some(serve_metrics(addr, metrics.clone(), &tasks).await?);
            }
            let service_config = config
                .services
                .into_iter()
                .find(|service| service.spec() == spec)
                .ok_or_else(|| anyhow::anyhow!("this binary cannot run the {}", spec.title))?;
            running.descriptions = service_config.describe();
            let service = service_config
                .build(context(Peers::remote(&config.peers)?))
                .await?;
            running
                .internal_addrs
                .extend(service.grpc_addr().map(|addr| (spec, addr)));
            service.spawn(&tasks);
        }
        Role::Gateway => {
            let peers = Peers::remote(&config.peers)?;
            let gateway = gpuproxy_gateway::App::build(config.gateway, context(peers)).await?;
            (running.http_addr, running.grpc_addr) = (Some(gateway.http_addr()?), Some(gateway.grpc_addr()?));
            running.grpc_tls = gateway.grpc_uses_tls();
            gateway.spawn(&tasks);
        }
        Role::All => {
            let mut peers = Peers::new();
            let mut built = Vec::new();
            for mut service_config in config.services {
                service_config.in_process_only();
                running.descriptions.extend(service_config.describe());
                let service = service_config.build(context(peers.clone())).await?;
                service.join(&mut peers);
                built.push(service);
            }
            running.first_admin = create_first_admin(peers.channel(&AUTH)?).await?;
            let gateway = gpuproxy_gateway::App::build(config.gateway, context(peers)).await?;
            (running.http_addr, running.grpc_addr) = (Some(gateway.http_addr()?), Some(gateway.grpc_addr()?));
            running.grpc_tls = gateway.grpc_uses_tls();
            for service in built {
                service.spawn(&tasks);
            }
            gateway.spawn(&tasks);
        }
    }
    Ok(running)
}

/// Serves the process's metrics for Prometheus: internal services have no HTTP port of their own.
async fn serve_metrics(addr: SocketAddr, metrics: Metrics, tasks: &Tasks) -> anyhow::Result<SocketAddr> {
    let listener = gpuproxy_server::bind(addr).await?;
    let bound = listener.local_addr()?;
    let router = axum::Router::new().route(
        "/metrics",
        axum::routing::get(move || {
            let metrics = metrics.clone();
            async move {
                (
                    [(
                        axum::http::header::CONTENT_TYPE,
                        "text/plain; version=0.0.4; charset=utf-8",
                    )],
                    metrics.render(),
                )
            }
        }),
    );
    let token = tasks.token();
    tasks.spawn("metrics-http", async move {
        axum::serve(listener, router)
            .with_graceful_shutdown(token.cancelled_owned())
            .await?;
        Ok(())
    });
    Ok(bound)
}

/// On a first run (no users at all), creates an admin with a random password so that the printed
/// banner can say how to log in. Never runs again once any user exists.
async fn create_first_admin(auth: GrpcChannel) -> anyhow::Result<Option<FirstAdmin>> {
    let mut auth = AuthServiceClient::new(auth);
    if auth.get_stats(GetStatsRequest {}).await?.into_inner().users > 0 {
        return Ok(None);
    }
    let password = random_password();
    auth.register(RegisterRequest {
        email: FIRST_ADMIN_EMAIL.to_owned(),
        password: password.clone(),
        name: "Administrator".to_owned(),
    })
    .await?;
    auth.set_admin(SetAdminRequest {
        email: FIRST_ADMIN_EMAIL.to_owned(),
        is_admin: true,
    })
    .await?;
    Ok(Some(FirstAdmin {
        email: FIRST_ADMIN_EMAIL.to_owned(),
        password,
    }))
}

fn random_password() -> String {
    use base64::Engine;
    let mut bytes = [0u8; 18];
    rand::fill(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Installs logging and tracing from `config`; `debug_mode` (`-dm`) raises the level to debug for
/// this workspace and the libraries whose debug output is useful.
pub fn init_telemetry(
    config: &DaemonConfig,
    debug_mode: bool,
) -> anyhow::Result<gpuproxy_telemetry::TelemetryGuard> {
    let mut telemetry = config.telemetry.clone();
    if debug_mode {
        telemetry.log_level = "debug,h2=info,hyper=info,tower=info".to_owned();
    }
    gpuproxy_telemetry::init(&telemetry, "gpuproxyd")
}

/// Waits for SIGTERM, ctrl-c or a failed task, then stops every task, giving in-flight requests up to
/// `drain` to finish. Returns failure when a task failed.
pub async fn run_until_shutdown(running: Running, drain: std::time::Duration) -> std::process::ExitCode {
    let token = running.tasks.token();
    tokio::select! {
        () = gpuproxy_server::shutdown_signal() => {}
        () = token.cancelled() => {}
    }
    if !running.tasks.shutdown_and_wait(drain).await {
        tracing::warn!(timeout = ?drain, "some requests were still running at the shutdown timeout");
    }
    match running.tasks.failure() {
        Some(failure) => {
            eprintln!(
                "aiserve-gpuproxyd: task {} failed: {}",
                failure.task, failure.error
            );
            std::process::ExitCode::FAILURE
        }
        None => std::process::ExitCode::SUCCESS,
    }
}
