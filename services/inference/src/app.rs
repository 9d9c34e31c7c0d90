//! Building and running the inference service.

use gpuproxy_config::{BILLING, GUARDRAILS, INFERENCE, InternalServerConfig, Reader, ServiceSpec};
use gpuproxy_db::{Database, Migrations};
use gpuproxy_events::Outbox;
use gpuproxy_proto::gpuproxy::inference::v1::inference_service_server::InferenceServiceServer;
use gpuproxy_server::{Dependency, HostedService, ServiceContext, ServiceHost, Tasks};
use tokio_util::task::TaskTracker;
use tonic::service::Routes;

use crate::config::Config;
use crate::grpc::GrpcInference;
use crate::models::{Models, Pricing};
use crate::runtime::{Runtime, library};
use crate::storage::Storage;
use gpuproxy_spending::Spending;

/// The largest gRPC message: an upload chunk and its framing.
const MAX_MESSAGE_BYTES: usize = 8 << 20;

/// The inference service, built and ready to run.
#[derive(Debug)]
pub struct App {
    host: ServiceHost,
    running: TaskTracker,
    /// The runtime, when its library is still to fetch.
    fetching: Option<Runtime>,
}

impl HostedService for App {
    type Config = Config;

    const SPEC: &'static ServiceSpec = &INFERENCE;

    fn read_config(reader: &mut Reader<'_>, developer_mode: bool) -> Config {
        Config::read(reader, developer_mode)
    }

    fn server_config(config: &mut Config) -> &mut InternalServerConfig {
        &mut config.server
    }

    /// Connects to the database (migrating it) and to object storage, and binds the listener when
    /// the configuration names one.
    async fn build(config: Config, context: ServiceContext) -> anyhow::Result<Self> {
        let database = Database::connect(&config.database).await?;
        database.migrate(Self::migrations()).await?;
        let storage = Storage::open(&config)?;
        tracing::info!(storage = storage.describe(), "model artifacts are kept here");
        let runtime = Runtime::new(config.runtime.clone());
        // A library at hand loads now; one to fetch loads in the background (inferences answer 503
        // until it is there).
        let at_hand = config.runtime.library.is_some() || library::cached(&config.runtime.cache).exists();
        let fetching = if at_hand || !config.runtime.auto_install {
            runtime.load().await;
            None
        } else {
            Some(runtime.clone())
        };
        let running = TaskTracker::new();
        // Inferences are charged only when they cost something, through the one money path.
        let pricing = match (
            config.request_cost_micros,
            context.peers.get(&BILLING),
            context.peers.get(&GUARDRAILS),
        ) {
            (0, _, _) => None,
            (cost, Some(billing), Some(guardrails)) => Some(Pricing {
                spending: Spending::new(billing, guardrails, false, config.call_timeout),
                cost_micros: cost,
            }),
            _ => anyhow::bail!(
                "INFERENCE_REQUEST_COST needs the billing and guard-rail services among the peers"
            ),
        };
        let models = Models::new(
            database.clone(),
            Outbox::new(database.clone(), INFERENCE.name),
            storage,
            config.limits,
            runtime,
            pricing,
        );
        let routes = Routes::new(
            InferenceServiceServer::new(GrpcInference::new(models.clone(), running.clone()))
                .max_decoding_message_size(MAX_MESSAGE_BYTES)
                .max_encoding_message_size(64 << 20),
        );
        let host = ServiceHost::new(&INFERENCE, routes, &config.server)?
            .reporting(
                vec![
                    Dependency::Database(database),
                    Dependency::Bus(context.bus.clone()),
                ],
                config.database.health_check_period,
            )
            .relaying(
                models.outbox().clone(),
                context.bus.clone(),
                config.outbox_poll_interval,
            )
            .bind()
            .await?;
        Ok(App {
            host,
            running,
            fetching,
        })
    }

    fn host(&self) -> &ServiceHost {
        &self.host
    }

    /// Starts serving, and fetching ONNX Runtime when it is missing.
    fn spawn(self, tasks: &Tasks) {
        let App {
            host,
            running,
            fetching,
        } = self;
        host.spawn(tasks);
        tasks.drain_at_shutdown("inference-drain", running);
        if let Some(runtime) = fetching {
            tasks.spawn("inference-fetch-onnxruntime", async move {
                runtime.load().await;
                Ok(())
            });
        }
    }

    fn migrations() -> Vec<Migrations> {
        vec![
            Migrations::new(
                "_inference_migrations",
                sqlx::migrate!("../../migrations/inference"),
            ),
            gpuproxy_events::migrations(),
        ]
    }
}
