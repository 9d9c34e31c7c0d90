//! Building and running the webhooks service.

use gpuproxy_config::{InternalServerConfig, Reader, ServiceSpec, WEBHOOKS};
use gpuproxy_db::{Database, Migrations};
use gpuproxy_events::EventBus;
use gpuproxy_proto::gpuproxy::webhooks::v1::webhook_service_server::WebhookServiceServer;
use gpuproxy_server::{Dependency, HostedService, ServiceContext, ServiceHost, Tasks};
use tonic::service::Routes;

use crate::config::Config;
use crate::grpc::GrpcWebhooks;
use crate::service::Webhooks;

/// The webhooks service, built and ready to run: database migrated, listener bound.
#[derive(Debug)]
pub struct App {
    webhooks: Webhooks,
    host: ServiceHost,
    bus: EventBus,
}

impl App {
    /// Returns the use cases, for tests.
    pub fn webhooks(&self) -> &Webhooks {
        &self.webhooks
    }
}

impl HostedService for App {
    type Config = Config;

    const SPEC: &'static ServiceSpec = &WEBHOOKS;

    fn read_config(reader: &mut Reader<'_>, developer_mode: bool) -> Config {
        Config::read(reader, developer_mode)
    }

    fn server_config(config: &mut Config) -> &mut InternalServerConfig {
        &mut config.server
    }

    /// Connects to the database (migrating it) and binds the gRPC listener when the configuration
    /// names one.
    async fn build(config: Config, context: ServiceContext) -> anyhow::Result<Self> {
        let database = Database::connect(&config.database).await?;
        database.migrate(Self::migrations()).await?;
        let webhooks = Webhooks::new(&config, database.clone())?;
        let routes = Routes::new(WebhookServiceServer::new(GrpcWebhooks::new(webhooks.clone())));
        // Without its database the service can queue nothing, so the database's health is the service's.
        let host = ServiceHost::new(&WEBHOOKS, routes, &config.server)?
            .reporting(
                vec![
                    Dependency::Database(database),
                    Dependency::Bus(context.bus.clone()),
                ],
                config.database.health_check_period,
            )
            .bind()
            .await?;
        Ok(App {
            webhooks,
            host,
            bus: context.bus,
        })
    }

    fn host(&self) -> &ServiceHost {
        &self.host
    }

    /// Starts serving, following the event stream and sending deliveries.
    fn spawn(self, tasks: &Tasks) {
        let App { webhooks, host, bus } = self;
        host.spawn(tasks);
        // The stream is taken here, not inside the task: on the in-process bus an event published
        // before the task first ran would be lost.
        tasks.spawn(
            "webhooks-fan-out",
            webhooks
                .clone()
                .follow_events(crate::fanout::follow(&bus), tasks.token()),
        );
        tasks.spawn("webhooks-send", webhooks.send_deliveries(tasks.token()));
    }

    fn migrations() -> Vec<Migrations> {
        vec![Migrations::new(
            "_webhooks_migrations",
            sqlx::migrate!("../../migrations/webhooks"),
        )]
    }
}
