//! Building and running the reservation service.

use std::sync::Arc;

use gpuproxy_config::{BILLING, CATALOG, GUARDRAILS, InternalServerConfig, RESERVATION, Reader, ServiceSpec};
use gpuproxy_db::{Database, Migrations};
use gpuproxy_domain::now_ms;
use gpuproxy_proto::gpuproxy::reservation::v1::reservation_service_server::{
    ReservationService, ReservationServiceServer,
};
use gpuproxy_server::{Dependency, Every, HostedService, Peers, ServiceContext, ServiceHost, Tasks};
use gpuproxy_spending::Spending;
use gpuproxy_telemetry::Metrics;
use tokio_util::task::TaskTracker;
use tonic::service::Routes;

use crate::balancer::{Balancer, Unhealthy};
use crate::config::Config;
use crate::domain::Labels;
use crate::grpc::GrpcReservations;
use crate::repo::installation;
use crate::service::Reservations;

/// The reservation service, built and ready to run: database migrated, strategies and rotations
/// restored, listener bound.
#[derive(Debug)]
pub struct App {
    metrics: Metrics,
    service: Reservations,
    host: ServiceHost,
    config: Config,
    tracker: TaskTracker,
}

impl App {
    /// Returns the use cases, for tests.
    pub fn service(&self) -> &Reservations {
        &self.service
    }
}

impl HostedService for App {
    type Config = Config;

    const SPEC: &'static ServiceSpec = &RESERVATION;

    fn read_config(reader: &mut Reader<'_>, developer_mode: bool) -> Config {
        Config::read(reader, developer_mode)
    }

    fn server_config(config: &mut Config) -> &mut InternalServerConfig {
        &mut config.server
    }

    /// Connects to the database (migrating it), restores each user's strategy and running instances,
    /// and binds the gRPC listener when the configuration names one. Rents go to the catalog among
    /// the peers; with billing and the guard rails among them too, rents are admitted against them
    /// (`CREDITS_ENFORCED`) and run time is billed every `METERING_INTERVAL`.
    async fn build(config: Config, context: ServiceContext) -> anyhow::Result<Self> {
        let catalog = context.peers.channel(&CATALOG)?;
        let spending = match (context.peers.get(&BILLING), context.peers.get(&GUARDRAILS)) {
            (Some(billing), Some(guardrails)) => Some(Spending::new(
                billing,
                guardrails,
                config.credits_enforced,
                config.catalog_call_timeout,
            )),
            _ => None,
        };
        let database = Database::connect(&config.database).await?;
        database.migrate(Self::migrations()).await?;
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
            database.clone(),
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
        // Without its database the service can rent nothing safely, so the database's health is the service's.
        let host = ServiceHost::new(&RESERVATION, routes, &config.server)?
            .reporting(
                vec![
                    Dependency::Database(database),
                    Dependency::Bus(context.bus.clone()),
                ],
                config.database.health_check_period,
            )
            .relaying(service.outbox().clone(), context.bus, config.outbox_poll_interval)
            .bind()
            .await?;
        count_running(&service, &context.metrics).await;
        Ok(App {
            metrics: context.metrics,
            service,
            host,
            config,
            tracker,
        })
    }

    fn host(&self) -> &ServiceHost {
        &self.host
    }

    /// Its API to call directly, for a gateway in the same process: the load balancer's calls on
    /// every proxied request then skip gRPC encoding.
    fn offer_direct(&self, peers: &mut Peers) {
        let api: Arc<dyn ReservationService> = Arc::new(GrpcReservations::new(self.service.clone()));
        peers.offer_direct(api);
    }

    /// Starts serving, relaying events, following instances, reconciling with the providers (at
    /// once, then every `RECONCILE_INTERVAL`), stopping idle instances, billing run time and probing
    /// instances. Shutting down waits for reservations in progress.
    fn spawn(self, tasks: &Tasks) {
        let App {
            metrics,
            service,
            host,
            config,
            tracker,
        } = self;
        host.spawn(tasks);
        let periods = config.periods;
        let every = |name: &'static str, schedule: Every, work: fn(Reservations) -> WorkFuture| {
            let service = service.clone();
            tasks.every(name, schedule, move || work(service.clone()));
        };
        every("reservation-follow", Every::period(periods.poll), |service| {
            Box::pin(async move {
                if let Err(error) = service.follow_starting_instances().await {
                    tracing::warn!(%error, "following starting instances failed");
                }
            })
        });
        every(
            "reservation-reconcile",
            Every::period(periods.reconcile).at_once(),
            |service| {
                Box::pin(async move {
                    if let Err(error) = service.reconcile().await {
                        tracing::warn!(%error, "reconciling with the providers failed");
                    }
                })
            },
        );
        every(
            "reservation-autostop",
            Every::period(periods.autostop_check),
            |service| {
                Box::pin(async move {
                    if let Err(error) = service.stop_idle_instances(now_ms()).await {
                        tracing::warn!(%error, "stopping idle instances failed");
                    }
                })
            },
        );
        every("reservation-meter", Every::period(periods.metering), |service| {
            Box::pin(async move {
                if let Err(error) = service.meter_usage(now_ms()).await {
                    tracing::warn!(%error, "billing run time failed");
                }
            })
        });
        every(
            "reservation-probe",
            Every::period(config.health.probe_interval),
            |service| Box::pin(async move { service.probe_running_instances().await }),
        );
        let counted = service.clone();
        tasks.every(
            "reservation-count-running",
            Every::period(config.database.health_check_period),
            move || {
                let (service, metrics) = (counted.clone(), metrics.clone());
                async move { count_running(&service, &metrics).await }
            },
        );
        let token = tasks.token();
        tasks.spawn("reservation-drain", async move {
            token.cancelled().await;
            // Reservations in progress finish (their rents are already paid for) before the process ends.
            tracker.close();
            tracker.wait().await;
            Ok(())
        });
    }

    fn migrations() -> Vec<Migrations> {
        vec![
            Migrations::new(
                "_reservation_migrations",
                sqlx::migrate!("../../migrations/reservation"),
            ),
            gpuproxy_events::migrations(),
        ]
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

/// Counts the running instances for `gpuproxy_active_instances`.
async fn count_running(service: &Reservations, metrics: &Metrics) {
    match service.count_running().await {
        Ok(running) => metrics.set_active_instances(running),
        Err(error) => tracing::debug!(%error, "counting running instances failed"),
    }
}
