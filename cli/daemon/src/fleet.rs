//! Starting the services this process runs.

use std::net::SocketAddr;

use gpuproxy_events::EventBus;
use gpuproxy_gateway::Dependencies;
use gpuproxy_server::Tasks;
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
    /// The auth service's internal gRPC, when it runs alone here.
    pub auth_grpc_addr: Option<SocketAddr>,
    /// The catalog's internal gRPC, when it runs alone here.
    pub catalog_grpc_addr: Option<SocketAddr>,
    /// The guard rails' internal gRPC, when they run alone here.
    pub guardrails_grpc_addr: Option<SocketAddr>,
    /// The reservation service's internal gRPC, when it runs alone here.
    pub reservation_grpc_addr: Option<SocketAddr>,
    /// The billing service's internal gRPC, when it runs alone here.
    pub billing_grpc_addr: Option<SocketAddr>,
    /// The webhooks service's internal gRPC, when it runs alone here.
    pub webhooks_grpc_addr: Option<SocketAddr>,
    /// The provider simulator's base URL, when it stands in for vast.ai and io.net.
    pub simulator_url: Option<String>,
    /// Where a single internal service serves `/metrics` (`METRICS_PORT`).
    pub metrics_addr: Option<SocketAddr>,
    /// The admin created on an embedded server's first run.
    pub first_admin: Option<FirstAdmin>,
}

/// The email of the admin an embedded server creates on its first run.
pub const FIRST_ADMIN_EMAIL: &str = "admin@gpuproxy.local";

/// Builds and starts `role` with `config`. With [`Role::All`] the gateway reaches the services
/// in-process and everything shares one event bus; otherwise services meet over the network.
pub async fn start(role: Role, mut config: DaemonConfig) -> anyhow::Result<Running> {
    let tasks = Tasks::new();
    let metrics = Metrics::new();
    let mut running = Running {
        tasks: tasks.clone(),
        role,
        http_addr: None,
        grpc_addr: None,
        grpc_tls: false,
        auth_grpc_addr: None,
        catalog_grpc_addr: None,
        guardrails_grpc_addr: None,
        reservation_grpc_addr: None,
        billing_grpc_addr: None,
        webhooks_grpc_addr: None,
        simulator_url: None,
        metrics_addr: None,
        first_admin: None,
    };
    if let (
        Role::Auth | Role::Catalog | Role::Guardrails | Role::Reservation | Role::Billing | Role::Webhooks,
        Some(port),
    ) = (role, config.metrics_port)
    {
        let host = config
            .catalog
            .grpc_listen
            .map_or([127, 0, 0, 1].into(), |addr| addr.ip());
        running.metrics_addr =
            Some(serve_metrics(SocketAddr::new(host, port), metrics.clone(), &tasks).await?);
    }
    match role {
        Role::Auth => {
            let bus = EventBus::connect(&config.auth.nats).await?;
            let auth = gpuproxy_auth::App::build(config.auth, bus).await?;
            running.auth_grpc_addr = auth.grpc_addr();
            auth.spawn(&tasks);
        }
        Role::Catalog => {
            let bus = EventBus::connect(&config.catalog.nats).await?;
            let catalog = gpuproxy_catalog::App::build(
                config.catalog,
                bus,
                &metrics,
                gpuproxy_catalog::Deployment::Fleet,
            )
            .await?;
            running.catalog_grpc_addr = catalog.grpc_addr();
            running.simulator_url = catalog.simulator_url();
            catalog.spawn(&tasks);
        }
        Role::Guardrails => {
            let bus = EventBus::connect(&config.guardrails.nats).await?;
            let guardrails = gpuproxy_guardrails::App::build(config.guardrails, bus).await?;
            running.guardrails_grpc_addr = guardrails.grpc_addr();
            guardrails.spawn(&tasks);
        }
        Role::Reservation => {
            let bus = EventBus::connect(&config.reservation.nats).await?;
            let catalog = gpuproxy_server::connect_lazy(
                &config.reservation.catalog_service_url,
                std::time::Duration::from_secs(5),
                config.reservation.internal_token.as_ref(),
            )?;
            let connect = |url: &str| {
                gpuproxy_server::connect_lazy(
                    url,
                    std::time::Duration::from_secs(5),
                    config.reservation.internal_token.as_ref(),
                )
            };
            let spending = gpuproxy_reservation::Spending::new(
                connect(&config.reservation.billing_service_url)?,
                connect(&config.reservation.guardrails_service_url)?,
                config.reservation.credits_enforced,
                config.reservation.stop_at_cap,
                config.reservation.catalog_call_timeout,
            );
            let reservation = gpuproxy_reservation::App::build_with_spending(
                config.reservation,
                bus,
                catalog,
                Some(spending),
                &metrics,
            )
            .await?;
            running.reservation_grpc_addr = reservation.grpc_addr();
            reservation.spawn(&tasks);
        }
        Role::Billing => {
            let bus = EventBus::connect(&config.billing.nats).await?;
            let billing = gpuproxy_billing::App::build(config.billing, bus).await?;
            running.billing_grpc_addr = billing.grpc_addr();
            billing.spawn(&tasks);
        }
        Role::Webhooks => {
            let bus = EventBus::connect(&config.webhooks.nats).await?;
            let webhooks = gpuproxy_webhooks::App::build(config.webhooks, bus).await?;
            running.webhooks_grpc_addr = webhooks.grpc_addr();
            webhooks.spawn(&tasks);
        }
        Role::Gateway => {
            let dependencies = Dependencies::connect(&config.gateway, metrics).await?;
            let gateway = gpuproxy_gateway::App::build(config.gateway, dependencies).await?;
            (running.http_addr, running.grpc_addr) = (Some(gateway.http_addr()?), Some(gateway.grpc_addr()?));
            running.grpc_tls = gateway.grpc_uses_tls();
            gateway.spawn(&tasks);
        }
        Role::All => {
            let bus = EventBus::connect(&config.auth.nats).await?;
            config.auth.grpc_listen = None;
            let auth = gpuproxy_auth::App::build(config.auth, bus.clone()).await?;
            running.first_admin = create_first_admin(auth.service()).await?;
            config.catalog.grpc_listen = None;
            let catalog = gpuproxy_catalog::App::build(
                config.catalog,
                bus.clone(),
                &metrics,
                gpuproxy_catalog::Deployment::Embedded,
            )
            .await?;
            running.simulator_url = catalog.simulator_url();
            config.guardrails.grpc_listen = None;
            let guardrails = gpuproxy_guardrails::App::build(config.guardrails, bus.clone()).await?;
            config.billing.grpc_listen = None;
            let billing = gpuproxy_billing::App::build(config.billing, bus.clone()).await?;
            config.webhooks.grpc_listen = None;
            let webhooks = gpuproxy_webhooks::App::build(config.webhooks, bus.clone()).await?;
            config.reservation.grpc_listen = None;
            let spending = gpuproxy_reservation::Spending::new(
                billing.in_process_channel(),
                guardrails.in_process_channel(),
                config.reservation.credits_enforced,
                config.reservation.stop_at_cap,
                config.reservation.catalog_call_timeout,
            );
            let reservation = gpuproxy_reservation::App::build_with_spending(
                config.reservation,
                bus.clone(),
                catalog.in_process_channel(),
                Some(spending),
                &metrics,
            )
            .await?;
            let dependencies = Dependencies {
                auth: auth.in_process_channel(),
                billing: billing.in_process_channel(),
                webhooks: webhooks.in_process_channel(),
                catalog: catalog.in_process_channel(),
                guardrails: guardrails.in_process_channel(),
                reservation: reservation.in_process_channel(),
                reservation_in_process: Some(gpuproxy_gateway::InProcessReservations(
                    reservation.in_process_api(),
                )),
                bus,
                metrics,
            };
            let gateway = gpuproxy_gateway::App::build(config.gateway, dependencies).await?;
            (running.http_addr, running.grpc_addr) = (Some(gateway.http_addr()?), Some(gateway.grpc_addr()?));
            running.grpc_tls = gateway.grpc_uses_tls();
            auth.spawn(&tasks);
            catalog.spawn(&tasks);
            guardrails.spawn(&tasks);
            reservation.spawn(&tasks);
            billing.spawn(&tasks);
            webhooks.spawn(&tasks);
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
async fn create_first_admin(service: &gpuproxy_auth::AuthService) -> anyhow::Result<Option<FirstAdmin>> {
    if service.stats().await?.users > 0 {
        return Ok(None);
    }
    let password = random_password();
    service.ensure_admin(FIRST_ADMIN_EMAIL, &password).await?;
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
