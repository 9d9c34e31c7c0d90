//! Building and running the reservation service.

use std::net::SocketAddr;
use std::time::Duration;

use gpuproxy_db::Database;
use gpuproxy_events::{EventBus, RelaySettings};
use gpuproxy_proto::gpuproxy::reservation::v1::reservation_service_server::{
    ReservationService, ReservationServiceServer,
};
use gpuproxy_server::{GrpcChannel, GrpcServer, Health, Tasks};
use gpuproxy_telemetry::Metrics;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tonic::service::Routes;

use crate::balancer::{Balancer, Unhealthy};
use crate::config::Config;
use crate::domain::Labels;
use crate::grpc::GrpcReservations;
use crate::repo::installation;
use crate::service::{Reservations, now_ms};
use crate::spending::Spending;

/// The gRPC service name, as health checks and reflection know it.
pub const SERVICE_NAME: &str = "gpuproxy.reservation.v1.ReservationService";

/// Returns the reservation service's migrations.
pub fn migrations() -> gpuproxy_db::Migrations {
    gpuproxy_db::Migrations::new(
        "_reservation_migrations",
        sqlx::migrate!("../../migrations/reservation"),
    )
}

/// The reservation service, built and ready to run: database migrated, strategies and rotations
/// restored, listener bound.
#[derive(Debug)]
pub struct App {
    metrics: Metrics,
    service: Reservations,
    grpc: GrpcServer,
    listener: Option<TcpListener>,
    bus: EventBus,
    config: Config,
    tracker: TaskTracker,
}

impl App {
    /// Connects to the database (migrating it), restores each user's strategy and running instances,
    /// and binds the gRPC listener when `config.grpc_listen` is set. `catalog` is the provider catalog;
    /// `metrics` gets the `gpuproxy_active_instances` gauge.
    pub async fn build(
        config: Config,
        bus: EventBus,
        catalog: GrpcChannel,
        metrics: &Metrics,
    ) -> anyhow::Result<Self> {
        Self::build_with_spending(config, bus, catalog, None, metrics).await
    }

    /// Like [`App::build`], with billing and the guard rails: rents are admitted against them
    /// (`CREDITS_ENFORCED`) and run time is billed every `METERING_INTERVAL`.
    pub async fn build_with_spending(
        config: Config,
        bus: EventBus,
        catalog: GrpcChannel,
        spending: Option<Spending>,
        metrics: &Metrics,
    ) -> anyhow::Result<Self> {
        let database = Database::connect(&config.database).await?;
        migrations().run(&database).await?;
        gpuproxy_events::migrations().run(&database).await?;
        let balancer = Balancer::new(
            config.load_balancer.strategy,
            config.load_balancer.enabled,
            Unhealthy {
                after: config.health.unhealthy_after,
                cooldown: config.health.cooldown,
            },
        );
        let tracker = TaskTracker::new();
        let labels = Labels::new(&installation_id(&database).await?);
        let service = Reservations::new(
            &config,
            database,
            catalog,
            balancer,
            tracker.clone(),
            labels,
            spending,
        );
        service.restore_strategies().await?;
        let restored = service.restore_rotations().await?;
        if restored > 0 {
            tracing::info!(restored, "running instances are back in their rotations");
        }
        let routes = Routes::new(ReservationServiceServer::new(GrpcReservations::new(
            service.clone(),
        )));
        let grpc = GrpcServer::new(routes, gpuproxy_proto::INTERNAL_FILE_DESCRIPTOR_SET)?
            .with_internal_token(config.internal_token.clone());
        let listener = gpuproxy_server::bind_internal(
            "reservation",
            config.grpc_listen,
            config.internal_token.is_some(),
            config.developer_mode,
        )
        .await?;
        let metrics = metrics.clone();
        report(&service, &bus, &grpc.health(), &metrics).await;
        Ok(App {
            metrics,
            service,
            grpc,
            listener,
            bus,
            config,
            tracker,
        })
    }

    /// Returns where the internal gRPC API listens, when it listens.
    pub fn grpc_addr(&self) -> Option<SocketAddr> {
        self.listener
            .as_ref()
            .and_then(|listener| listener.local_addr().ok())
    }

    /// Returns the use cases, for tests.
    pub fn service(&self) -> &Reservations {
        &self.service
    }

    /// Returns a channel to this service with no socket, for a gateway in the same process.
    pub fn in_process_channel(&self) -> GrpcChannel {
        self.grpc.in_process_channel()
    }

    /// Returns this service's API to call directly, for a gateway in the same process: the load
    /// balancer's calls on every proxied request then skip gRPC encoding.
    pub fn in_process_api(&self) -> std::sync::Arc<dyn ReservationService> {
        std::sync::Arc::new(GrpcReservations::new(self.service.clone()))
    }

    /// Starts serving (when bound), relaying events, following instances, reconciling with the
    /// providers (at once, then every `RECONCILE_INTERVAL`), stopping idle instances and probing
    /// health, all under `tasks`. Shutting down waits for reservations in progress.
    pub fn spawn(self, tasks: &Tasks) {
        let App {
            metrics,
            service,
            grpc,
            listener,
            bus,
            config,
            tracker,
        } = self;
        let health = grpc.health();
        if let Some(listener) = listener {
            tasks.spawn("reservation-grpc", grpc.serve(listener, None, tasks.token()));
        }
        let relay = RelaySettings {
            poll_interval: config.outbox_poll_interval,
            ..RelaySettings::default()
        };
        tasks.spawn(
            "reservation-outbox-relay",
            service.outbox().relay(bus.clone(), relay).run(tasks.token()),
        );
        let periods = config.periods;
        let every = |name: &'static str,
                     period: Duration,
                     first_at_once: bool,
                     work: fn(Reservations) -> WorkFuture| {
            let service = service.clone();
            let token = tasks.token();
            tasks.spawn(
                name,
                repeat(period, first_at_once, token, move || work(service.clone())),
            );
        };
        every("reservation-follow", periods.poll, false, |service| {
            Box::pin(async move {
                if let Err(error) = service.follow_starting_instances().await {
                    tracing::warn!(%error, "following starting instances failed");
                }
            })
        });
        every("reservation-reconcile", periods.reconcile, true, |service| {
            Box::pin(async move {
                if let Err(error) = service.reconcile().await {
                    tracing::warn!(%error, "reconciling with the providers failed");
                }
            })
        });
        every("reservation-autostop", periods.autostop_check, false, |service| {
            Box::pin(async move {
                if let Err(error) = service.stop_idle_instances(now_ms()).await {
                    tracing::warn!(%error, "stopping idle instances failed");
                }
            })
        });
        every("reservation-meter", periods.metering, false, |service| {
            Box::pin(async move {
                if let Err(error) = service.meter_usage(now_ms()).await {
                    tracing::warn!(%error, "billing run time failed");
                }
            })
        });
        every(
            "reservation-probe",
            config.health.probe_interval,
            false,
            |service| Box::pin(async move { service.probe_running_instances().await }),
        );
        let token = tasks.token();
        let period = config.database.health_check_period;
        tasks.spawn("reservation-health", async move {
            loop {
                tokio::select! {
                    () = token.cancelled() => break,
                    () = tokio::time::sleep(period) => report(&service, &bus, &health, &metrics).await,
                }
            }
            // Reservations in progress finish (their rents are already paid for) before the process ends.
            tracker.close();
            tracker.wait().await;
            Ok(())
        });
    }
}

/// Returns this database's installation id, making it on the first start.
async fn installation_id(database: &Database) -> anyhow::Result<String> {
    if let Some(id) = installation::find(database.pool()).await? {
        return Ok(id);
    }
    // The random half of a UUID v7: eight hex digits are plenty to tell deployments apart.
    let made = uuid::Uuid::now_v7().simple().to_string();
    installation::insert(database.pool(), &made[made.len() - 8..], now_ms()).await?;
    installation::find(database.pool())
        .await?
        .ok_or_else(|| anyhow::anyhow!("the installation id was not stored"))
}

type WorkFuture = std::pin::Pin<Box<dyn Future<Output = ()> + Send>>;

/// Runs `work` every `period` until `shutdown`.
async fn repeat(
    period: Duration,
    first_at_once: bool,
    shutdown: CancellationToken,
    work: impl Fn() -> WorkFuture,
) -> anyhow::Result<()> {
    if first_at_once {
        tokio::select! {
            () = shutdown.cancelled() => return Ok(()),
            () = work() => {}
        }
    }
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return Ok(()),
            () = tokio::time::sleep(period) => {}
        }
        tokio::select! {
            () = shutdown.cancelled() => return Ok(()),
            () = work() => {}
        }
    }
}

/// Without its database the service can rent nothing safely, so the database's health is the service's.
/// Also counts the running instances for `gpuproxy_active_instances`.
async fn report(service: &Reservations, bus: &EventBus, health: &Health, metrics: &Metrics) {
    let database = service.database().ping().await;
    match service.count_running().await {
        Ok(running) => metrics.set_active_instances(running),
        Err(error) => tracing::debug!(%error, "counting running instances failed"),
    }
    health.set("database", database).await;
    if let EventBus::Nats(_) = bus {
        health.set("nats", bus.is_connected()).await;
    }
    health.set(SERVICE_NAME, database).await;
    health.set("", database).await;
}
