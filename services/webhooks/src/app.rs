//! Building and running the webhooks service.

use std::net::SocketAddr;

use gpuproxy_db::Database;
use gpuproxy_events::EventBus;
use gpuproxy_proto::gpuproxy::webhooks::v1::webhook_service_server::WebhookServiceServer;
use gpuproxy_server::{GrpcChannel, GrpcServer, Health, Tasks};
use tokio::net::TcpListener;
use tonic::service::Routes;

use crate::config::Config;
use crate::grpc::GrpcWebhooks;
use crate::service::Webhooks;

/// The gRPC service name, as health checks and reflection know it.
pub const SERVICE_NAME: &str = "gpuproxy.webhooks.v1.WebhookService";

/// Returns the webhooks service's migrations.
pub fn migrations() -> gpuproxy_db::Migrations {
    gpuproxy_db::Migrations::new(
        "_webhooks_migrations",
        sqlx::migrate!("../../migrations/webhooks"),
    )
}

/// The webhooks service, built and ready to run: database migrated, listener bound.
#[derive(Debug)]
pub struct App {
    webhooks: Webhooks,
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
        let webhooks = Webhooks::new(&config, database)?;
        let routes = Routes::new(WebhookServiceServer::new(GrpcWebhooks::new(webhooks.clone())));
        let grpc = GrpcServer::new(routes, gpuproxy_proto::INTERNAL_FILE_DESCRIPTOR_SET)?
            .with_internal_token(config.internal_token.clone());
        let listener = gpuproxy_server::bind_internal(
            "webhooks",
            config.grpc_listen,
            config.internal_token.is_some(),
            config.developer_mode,
        )
        .await?;
        report(&webhooks, &bus, &grpc.health()).await;
        Ok(App {
            webhooks,
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
    pub fn webhooks(&self) -> &Webhooks {
        &self.webhooks
    }

    /// A channel to this service with no socket, for a gateway in the same process.
    pub fn in_process_channel(&self) -> GrpcChannel {
        self.grpc.in_process_channel()
    }

    /// Starts serving (when bound), following the event stream and sending deliveries.
    pub fn spawn(self, tasks: &Tasks) {
        let App {
            webhooks,
            grpc,
            listener,
            bus,
            config,
        } = self;
        let health = grpc.health();
        if let Some(listener) = listener {
            tasks.spawn("webhooks-grpc", grpc.serve(listener, None, tasks.token()));
        }
        tasks.spawn(
            "webhooks-fan-out",
            webhooks
                .clone()
                .follow_events(crate::fanout::follow(&bus), tasks.token()),
        );
        tasks.spawn("webhooks-send", webhooks.clone().send_deliveries(tasks.token()));
        let token = tasks.token();
        let period = config.database.health_check_period;
        tasks.spawn("webhooks-health", async move {
            loop {
                tokio::select! {
                    () = token.cancelled() => break,
                    () = tokio::time::sleep(period) => report(&webhooks, &bus, &health).await,
                }
            }
            Ok(())
        });
    }
}

/// Without its database the service can queue nothing, so the database's health is the service's.
async fn report(webhooks: &Webhooks, bus: &EventBus, health: &Health) {
    let database = webhooks.database().ping().await;
    health.set("database", database).await;
    if let EventBus::Nats(_) = bus {
        health.set("nats", bus.is_connected()).await;
    }
    health.set(SERVICE_NAME, database).await;
    health.set("", database).await;
}
