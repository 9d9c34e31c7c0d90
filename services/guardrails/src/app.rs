//! Building and running the guardrails service.

use std::time::Duration;

use gpuproxy_config::{GUARDRAILS, InternalServerConfig, Reader, ServiceSpec};
use gpuproxy_db::{Database, Migrations};
use gpuproxy_kv::KvStore;
use gpuproxy_proto::gpuproxy::guardrails::v1::guardrails_service_server::GuardrailsServiceServer;
use gpuproxy_server::{Dependency, HostedService, ServiceContext, ServiceHost, Tasks};
use tonic::service::Routes;

use crate::config::Config;
use crate::grpc::GrpcGuardrails;
use crate::limits::Limits;
use crate::spending::Guardrails;

/// How often the store is probed for health.
const PROBE_PERIOD: Duration = Duration::from_secs(15);

/// The guardrails service, built and ready to run.
#[derive(Debug)]
pub struct App {
    guardrails: Guardrails,
    host: ServiceHost,
}

impl App {
    /// Returns the use cases.
    pub fn guardrails(&self) -> &Guardrails {
        &self.guardrails
    }
}

impl HostedService for App {
    type Config = Config;

    const SPEC: &'static ServiceSpec = &GUARDRAILS;

    fn read_config(reader: &mut Reader<'_>, developer_mode: bool) -> Config {
        Config::read(reader, developer_mode)
    }

    fn server_config(config: &mut Config) -> &mut InternalServerConfig {
        &mut config.server
    }

    /// Connects the spending store (Redis, or memory when none is configured) and the database of
    /// per-user limits (migrating it), and binds the listener when the configuration names one.
    async fn build(config: Config, context: ServiceContext) -> anyhow::Result<Self> {
        let kv = KvStore::connect(&config.redis).await?;
        let database = Database::connect(&config.database).await?;
        database.migrate(Self::migrations()).await?;
        let limits = Limits::new(&config.limits.limits, database.clone(), config.limits_cache_ttl);
        let guardrails = Guardrails::new(&config, kv.clone(), limits, context.bus);
        if config.limits.enabled {
            tracing::info!(mode = ?config.mode, store = guardrails.store().kind(), "guard rails are on");
        }
        let routes = Routes::new(GuardrailsServiceServer::new(GrpcGuardrails::new(
            guardrails.clone(),
        )));
        // Without its store or the users' limits the service can allow nothing, so their health is
        // the service's.
        let host = ServiceHost::new(&GUARDRAILS, routes, &config.server)?
            .reporting(
                vec![Dependency::Store(kv), Dependency::Database(database)],
                PROBE_PERIOD,
            )
            .bind()
            .await?;
        Ok(App { guardrails, host })
    }

    fn host(&self) -> &ServiceHost {
        &self.host
    }

    /// Starts serving and probing the store.
    fn spawn(self, tasks: &Tasks) {
        self.host.spawn(tasks);
    }

    fn migrations() -> Vec<Migrations> {
        vec![Migrations::new(
            "_guardrails_migrations",
            sqlx::migrate!("../../migrations/guardrails"),
        )]
    }
}
