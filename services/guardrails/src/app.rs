//! Building and running the guardrails service.

use std::net::SocketAddr;

use gpuproxy_db::Database;
use gpuproxy_events::EventBus;
use gpuproxy_kv::KvStore;
use gpuproxy_proto::gpuproxy::guardrails::v1::guardrails_service_server::GuardrailsServiceServer;
use gpuproxy_server::{GrpcChannel, GrpcServer, Health, Tasks};
use tokio::net::TcpListener;
use tonic::service::Routes;

use crate::config::Config;
use crate::grpc::GrpcGuardrails;
use crate::limits::Limits;
use crate::spending::Guardrails;

/// The gRPC service name, as health checks and reflection know it.
pub const SERVICE_NAME: &str = "gpuproxy.guardrails.v1.GuardrailsService";

/// Returns the guard rails' migrations (per-user limits).
pub fn migrations() -> gpuproxy_db::Migrations {
    gpuproxy_db::Migrations::new(
        "_guardrails_migrations",
        sqlx::migrate!("../../migrations/guardrails"),
    )
}

/// How often the store is probed for health.
const PROBE_PERIOD: std::time::Duration = std::time::Duration::from_secs(15);

/// The guardrails service, built and ready to run.
#[derive(Debug)]
pub struct App {
    guardrails: Guardrails,
    grpc: GrpcServer,
    listener: Option<TcpListener>,
}

impl App {
    /// Connects the spending store (Redis, or memory when none is configured) and the database of
    /// per-user limits (migrating it), and binds the listener when `config.grpc_listen` is set.
    pub async fn build(config: Config, bus: EventBus) -> anyhow::Result<Self> {
        let kv = KvStore::connect(&config.redis).await?;
        let database = Database::connect(&config.database).await?;
        migrations().run(&database).await?;
        let limits = Limits::new(&config.limits.limits, database, config.limits_cache_ttl);
        let guardrails = Guardrails::new(&config, kv, limits, bus);
        if config.limits.enabled {
            tracing::info!(mode = ?config.mode, store = guardrails.store().kind(), "guard rails are on");
        }
        let routes = Routes::new(GuardrailsServiceServer::new(GrpcGuardrails::new(
            guardrails.clone(),
        )));
        let grpc = GrpcServer::new(routes, gpuproxy_proto::INTERNAL_FILE_DESCRIPTOR_SET)?
            .with_internal_token(config.internal_token.clone());
        let listener = gpuproxy_server::bind_internal(
            "guardrails",
            config.grpc_listen,
            config.internal_token.is_some(),
            config.developer_mode,
        )
        .await?;
        report(&guardrails, &grpc.health()).await;
        Ok(App {
            guardrails,
            grpc,
            listener,
        })
    }

    /// Returns where the internal gRPC API listens, when it listens.
    pub fn grpc_addr(&self) -> Option<SocketAddr> {
        self.listener
            .as_ref()
            .and_then(|listener| listener.local_addr().ok())
    }

    /// Returns the use cases.
    pub fn guardrails(&self) -> &Guardrails {
        &self.guardrails
    }

    /// Returns a channel to this service with no socket, for a gateway in the same process.
    pub fn in_process_channel(&self) -> GrpcChannel {
        self.grpc.in_process_channel()
    }

    /// Starts serving (when bound) and probing the store under `tasks`.
    pub fn spawn(self, tasks: &Tasks) {
        let App {
            guardrails,
            grpc,
            listener,
        } = self;
        let health = grpc.health();
        if let Some(listener) = listener {
            tasks.spawn("guardrails-grpc", grpc.serve(listener, None, tasks.token()));
        }
        let token = tasks.token();
        tasks.spawn("guardrails-health", async move {
            loop {
                tokio::select! {
                    () = token.cancelled() => return Ok(()),
                    () = tokio::time::sleep(PROBE_PERIOD) => report(&guardrails, &health).await,
                }
            }
        });
    }
}

/// Without its store or the users' limits the service can allow nothing, so their health is the service's.
async fn report(guardrails: &Guardrails, health: &Health) {
    let store = guardrails.store().ping().await;
    let database = guardrails.limits().database().ping().await;
    if let KvStore::Redis(_) = guardrails.store() {
        health.set("redis", store).await;
    }
    health.set("database", database).await;
    let serving = store && database;
    health.set(SERVICE_NAME, serving).await;
    health.set("", serving).await;
}
