//! Building and running the billing service.

use std::net::SocketAddr;
use std::time::Duration;

use gpuproxy_db::Database;
use gpuproxy_events::{EventBus, RelaySettings};
use gpuproxy_proto::gpuproxy::billing::v1::billing_service_server::BillingServiceServer;
use gpuproxy_server::{GrpcChannel, GrpcServer, Health, Tasks};
use tokio::net::TcpListener;
use tonic::service::Routes;

use crate::config::Config;
use crate::grpc::GrpcBilling;
use crate::service::Billing;

/// The gRPC service name, as health checks and reflection know it.
pub const SERVICE_NAME: &str = "gpuproxy.billing.v1.BillingService";

/// How old a pending payment must be before it is looked up at its processor: its webhook
/// normally arrives well within this.
const SETTLE_AFTER: Duration = Duration::from_secs(60);
/// How often expired credit holds are looked for.
const HOLD_SWEEP: Duration = Duration::from_secs(30);

/// Returns the billing service's migrations.
pub fn migrations() -> gpuproxy_db::Migrations {
    gpuproxy_db::Migrations::new("_billing_migrations", sqlx::migrate!("../../migrations/billing"))
}

/// The billing service, built and ready to run: database migrated, listener bound.
#[derive(Debug)]
pub struct App {
    billing: Billing,
    grpc: GrpcServer,
    listener: Option<TcpListener>,
    bus: EventBus,
    config: Config,
}

impl App {
    /// Connects to the database (migrating it) and binds the gRPC listener when `config.grpc_listen`
    /// is set.
    pub async fn build(config: Config, bus: EventBus) -> anyhow::Result<Self> {
        let database = Database::connect(&config.database).await?;
        migrations().run(&database).await?;
        gpuproxy_events::migrations().run(&database).await?;
        let billing = Billing::new(&config, database)?;
        let routes = Routes::new(BillingServiceServer::new(GrpcBilling::new(billing.clone())));
        let grpc = GrpcServer::new(routes, gpuproxy_proto::INTERNAL_FILE_DESCRIPTOR_SET)?
            .with_internal_token(config.internal_token.clone());
        let listener = gpuproxy_server::bind_internal(
            "billing",
            config.grpc_listen,
            config.internal_token.is_some(),
            config.developer_mode,
        )
        .await?;
        report(&billing, &bus, &grpc.health()).await;
        Ok(App {
            billing,
            grpc,
            listener,
            bus,
            config,
        })
    }

    /// Where the internal gRPC API listens, when it listens.
    pub fn grpc_addr(&self) -> Option<SocketAddr> {
        self.listener
            .as_ref()
            .and_then(|listener| listener.local_addr().ok())
    }

    /// The use cases, for tests.
    pub fn billing(&self) -> &Billing {
        &self.billing
    }

    /// A channel to this service with no socket, for a gateway in the same process.
    pub fn in_process_channel(&self) -> GrpcChannel {
        self.grpc.in_process_channel()
    }

    /// Starts serving (when bound), relaying events, and settling payments whose webhook is late.
    pub fn spawn(self, tasks: &Tasks) {
        let App {
            billing,
            grpc,
            listener,
            bus,
            config,
        } = self;
        let health = grpc.health();
        if let Some(listener) = listener {
            tasks.spawn("billing-grpc", grpc.serve(listener, None, tasks.token()));
        }
        let relay = RelaySettings {
            poll_interval: config.outbox_poll_interval,
            ..RelaySettings::default()
        };
        tasks.spawn(
            "billing-outbox-relay",
            billing.outbox().relay(bus.clone(), relay).run(tasks.token()),
        );
        let token = tasks.token();
        let period = config.database.health_check_period;
        let settler = billing.clone();
        tasks.spawn("billing-settle-pending", {
            let token = tasks.token();
            async move {
                loop {
                    tokio::select! {
                        () = token.cancelled() => break,
                        () = tokio::time::sleep(SETTLE_AFTER) => {}
                    }
                    let older_than = i64::try_from(SETTLE_AFTER.as_millis()).unwrap_or(i64::MAX);
                    if let Err(error) = settler.settle_pending(older_than).await {
                        tracing::warn!(%error, "settling pending payments failed");
                    }
                }
                Ok(())
            }
        });
        tasks.spawn("billing-expire-holds", {
            let token = tasks.token();
            let sweeper = billing.clone();
            async move {
                loop {
                    tokio::select! {
                        () = token.cancelled() => break,
                        () = tokio::time::sleep(HOLD_SWEEP) => {}
                    }
                    match sweeper.expire_holds().await {
                        Ok(0) => {}
                        Ok(released) => tracing::info!(released, "expired credit holds released"),
                        Err(error) => tracing::warn!(%error, "releasing expired credit holds failed"),
                    }
                }
                Ok(())
            }
        });
        tasks.spawn("billing-auto-renew", {
            let token = tasks.token();
            let renewer = billing.clone();
            let interval = config.auto_renew_interval;
            async move {
                loop {
                    if let Err(error) = renewer.renew_due().await {
                        tracing::warn!(%error, "auto-renewal round failed");
                    }
                    tokio::select! {
                        () = token.cancelled() => break,
                        () = renewer.renewal_marked() => {}
                        () = tokio::time::sleep(interval) => {}
                    }
                }
                Ok(())
            }
        });
        tasks.spawn("billing-health", async move {
            loop {
                tokio::select! {
                    () = token.cancelled() => break,
                    () = tokio::time::sleep(period) => report(&billing, &bus, &health).await,
                }
            }
            Ok(())
        });
    }
}

/// Without its database the service can credit nothing, so the database's health is the service's.
async fn report(billing: &Billing, bus: &EventBus, health: &Health) {
    let database = billing.database().ping().await;
    health.set("database", database).await;
    if let EventBus::Nats(_) = bus {
        health.set("nats", bus.is_connected()).await;
    }
    health.set(SERVICE_NAME, database).await;
    health.set("", database).await;
}
