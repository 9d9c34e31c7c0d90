//! Starting and stopping a fleet.

#![allow(
    clippy::expect_used,
    clippy::panic,
    reason = "test fixtures fail the test that uses them, loudly"
)]

use std::net::SocketAddr;

use gpuproxy_config::{AUTH, CATALOG, EnvMap, SERVICES, ServiceSpec};
use gpuproxy_daemon::{DaemonConfig, Role, Running};
use gpuproxy_provider_sim::{SimConfig, Simulator};
use gpuproxy_testkit::TestDatabase;

use crate::RestClient;

/// The JWT secret every test fleet signs with, so tests can forge tokens (expired, …) on purpose.
pub const JWT_SECRET: &str = "integration-test-secret-integration-test-secret";

/// Offers (vast.ai) and devices (io.net) in a test fleet's simulated market: small, so listings are quick.
pub const SIMULATED_OFFERS: usize = 300;

/// How the fleet runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `aiserve-gpuproxyd` with every service in one process, SQLite, in-memory stores, in-process bus.
    Embedded,
    /// One server per service, over PostgreSQL, Redis and NATS JetStream, with two gateway replicas.
    Fleet,
}

/// One gateway's front doors.
#[derive(Debug, Clone)]
pub struct Gateway {
    /// `http://127.0.0.1:<port>`.
    pub http: String,
    /// `http://127.0.0.1:<port>` (plaintext) or `https://…` (TLS).
    pub grpc: String,
    /// The gRPC socket address.
    pub grpc_addr: SocketAddr,
}

/// A running fleet; stopped when dropped.
#[derive(Debug)]
pub struct TestFleet {
    /// How it runs.
    pub mode: Mode,
    /// The gateways: one when embedded, two replicas in the fleet.
    pub gateways: Vec<Gateway>,
    /// A REST client of the first gateway.
    pub rest: RestClient,
    /// The NATS subject prefix and stream of this fleet (fleet mode).
    pub nats: Option<gpuproxy_config::NatsConfig>,
    /// The auth service's internal gRPC address (fleet mode).
    pub auth_grpc_addr: Option<SocketAddr>,
    /// The catalog's internal gRPC address (fleet mode).
    pub catalog_grpc_addr: Option<SocketAddr>,
    /// `http://…/metrics` of the catalog process (fleet mode).
    pub catalog_metrics: Option<String>,
    /// The provider simulator the fleet's catalog talks to (with API keys, as to real providers);
    /// `None` when the embedded server started its own.
    pub simulator: Option<Simulator>,
    running: Vec<Running>,
    /// The service that runs on a runtime of its own, to be killed and restarted (fleet mode).
    isolated: Option<Isolated>,
    _database: TestDatabase,
    _data_dir: tempfile::TempDir,
    /// Where the fleet keeps model artifacts (fleet mode; embedded keeps them under `DATA_DIR`).
    pub model_bucket: Option<ModelBucket>,
}

/// A bucket of the test S3 server (`TEST_S3_URL`), made for one fleet.
#[derive(Debug, Clone)]
pub struct ModelBucket {
    /// The server's URL.
    pub endpoint: String,
    /// The bucket.
    pub name: String,
}

impl ModelBucket {
    async fn create() -> Self {
        let endpoint = gpuproxy_testkit::TestServers::from_env().s3_url;
        let name = format!("gpuproxy-test-{}", uuid::Uuid::now_v7().simple());
        let created = reqwest::Client::new()
            .put(format!("{endpoint}/{name}"))
            .send()
            .await
            .unwrap_or_else(|error| {
                panic!("no S3 server at {endpoint} (scripts/s3-server.sh starts one): {error}")
            });
        assert!(
            created.status().is_success(),
            "creating bucket {name}: {}",
            created.status()
        );
        ModelBucket { endpoint, name }
    }

    /// The keys of the objects in the bucket.
    pub async fn keys(&self) -> Vec<String> {
        let listing = reqwest::Client::new()
            .get(format!("{}/{}?list-type=2", self.endpoint, self.name))
            .send()
            .await
            .expect("the S3 server answers")
            .text()
            .await
            .expect("a listing");
        listing
            .split("<Key>")
            .skip(1)
            .filter_map(|rest| rest.split_once("</Key>").map(|(key, _)| key.to_owned()))
            .collect()
    }
}

/// A service of the fleet on a runtime of its own: dropping the runtime stops every task of it at
/// once, as SIGKILL would stop its process, with no shutdown path run to its end.
#[derive(Debug)]
struct Isolated {
    spec: &'static ServiceSpec,
    /// Its configuration, with the port it first bound, to restart it where the others find it.
    pairs: Vec<(String, String)>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl Drop for TestFleet {
    fn drop(&mut self) {
        for running in &self.running {
            running.tasks.shutdown();
        }
        if let Some(runtime) = self
            .isolated
            .as_mut()
            .and_then(|isolated| isolated.runtime.take())
        {
            runtime.shutdown_background();
        }
    }
}

impl TestFleet {
    /// The fleet's `DATA_DIR` (model artifacts are under `models/` when no bucket is configured).
    pub fn data_dir(&self) -> &std::path::Path {
        self._data_dir.path()
    }

    /// Starts a fleet in `mode` with the default configuration.
    pub async fn start(mode: Mode) -> Self {
        Self::start_with(mode, &[]).await
    }

    /// Starts a fleet in `mode` with extra variables (e.g. `RATE_LIMIT_PER_MINUTE`).
    pub async fn start_with(mode: Mode, extra: &[(&str, &str)]) -> Self {
        Self::launch(mode, extra, true).await
    }

    /// Starts the embedded server with no provider key, so that it runs its own simulator.
    pub async fn start_with_builtin_simulator() -> Self {
        Self::launch(Mode::Embedded, &[], false).await
    }

    /// Starts a fleet whose `spec` service runs on a runtime of its own, for [`TestFleet::kill`] and
    /// [`TestFleet::restart`].
    pub async fn start_killable(spec: &'static ServiceSpec, extra: &[(&str, &str)]) -> Self {
        Self::launch_with(Mode::Fleet, extra, true, Some(spec)).await
    }

    /// Stops the killable service at once, as SIGKILL would: calls in flight break off.
    pub fn kill(&mut self) {
        let isolated = self.isolated.as_mut().expect("a killable service");
        if let Some(runtime) = isolated.runtime.take() {
            runtime.shutdown_background();
        }
    }

    /// Starts the killable service again, on the port where the others find it.
    pub async fn restart(&mut self) {
        let isolated = self.isolated.as_mut().expect("a killable service");
        assert!(isolated.runtime.is_none(), "kill it first");
        let (runtime, _) = start_isolated(isolated.spec, config_from(&isolated.pairs)).await;
        isolated.runtime = Some(runtime);
    }

    async fn launch(mode: Mode, extra: &[(&str, &str)], external_simulator: bool) -> Self {
        Self::launch_with(mode, extra, external_simulator, None).await
    }

    async fn launch_with(
        mode: Mode,
        extra: &[(&str, &str)],
        external_simulator: bool,
        killable: Option<&'static ServiceSpec>,
    ) -> Self {
        gpuproxy_testkit::init_logging();
        let data_dir = tempfile::tempdir().expect("a temp dir");
        let mut pairs: Vec<(String, String)> = vec![
            ("JWT_SECRET".into(), JWT_SECRET.into()),
            ("SERVER_HOST".into(), "127.0.0.1".into()),
            ("SERVER_PORT".into(), "0".into()),
            ("GRPC_PORT".into(), "0".into()),
            ("INTERNAL_HOST".into(), "127.0.0.1".into()),
            ("DATA_DIR".into(), data_dir.path().display().to_string()),
            // ONNX Runtime's library, where scripts/onnxruntime.sh puts it: no test fetches it.
            (
                "ML_RUNTIME_CACHE".into(),
                gpuproxy_testkit::TestServers::from_env().runtime_cache,
            ),
            ("OUTBOX_POLL_INTERVAL".into(), "50ms".into()),
            ("WEBHOOK_POLL_INTERVAL".into(), "50ms".into()),
            ("WEBHOOK_RETRY_BASE".into(), "200ms".into()),
            ("WEBHOOK_RETRY_MAX_BACKOFF".into(), "1s".into()),
            ("WEBHOOK_ALLOWED_HOSTS".into(), "localhost".into()),
            ("INSTANCE_POLL_INTERVAL".into(), "100ms".into()),
            ("LB_HEALTH_PROBE_INTERVAL".into(), "1s".into()),
            ("PROVIDER_SIM_OFFERS".into(), SIMULATED_OFFERS.to_string()),
        ];
        pairs.extend(
            SERVICES
                .iter()
                .map(|spec| (spec.port_variable.to_owned(), "0".to_owned())),
        );
        let simulator = if external_simulator {
            let sim_config = SimConfig {
                vastai_offers: SIMULATED_OFFERS,
                ionet_devices: SIMULATED_OFFERS,
                loading_after: std::time::Duration::from_millis(50),
                running_after: std::time::Duration::from_millis(250),
                ..SimConfig::default()
            };
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("a port");
            let simulator = Simulator::start(sim_config.clone(), listener)
                .await
                .expect("the simulator starts");
            let url = simulator.base_url();
            pairs.extend([
                ("VASTAI_API_KEY".into(), sim_config.vastai_api_key.clone()),
                ("VASTAI_API_URL".into(), url.clone()),
                ("IONET_API_KEY".into(), sim_config.ionet_api_key.clone()),
                ("IONET_API_URL".into(), url),
            ]);
            Some(simulator)
        } else {
            None
        };
        let (database, nats) = match mode {
            Mode::Embedded => (TestDatabase::sqlite(), None),
            Mode::Fleet => {
                let database = TestDatabase::postgres().await;
                let redis = gpuproxy_testkit::redis_config();
                let nats = gpuproxy_testkit::nats_config();
                let server = redis.server.as_ref().expect("a redis server");
                pairs.extend([
                    ("REDIS_HOST".into(), server.host.clone()),
                    ("REDIS_PORT".into(), server.port.to_string()),
                    ("REDIS_KEY_PREFIX".into(), redis.key_prefix.clone()),
                    ("NATS_URL".into(), nats.url.clone().expect("a nats url")),
                    ("NATS_STREAM".into(), nats.stream.clone()),
                    ("NATS_SUBJECT_PREFIX".into(), nats.subject_prefix.clone()),
                    ("METRICS_PORT".into(), "0".into()),
                ]);
                (database, Some(nats))
            }
        };
        pairs.extend([
            ("DATABASE_URL".into(), database.url()),
            ("DB_MAX_CONNS".into(), "10".into()),
        ]);
        // The fleet keeps model artifacts in a bucket of its own on the S3 server.
        let model_bucket = match mode {
            Mode::Embedded => None,
            Mode::Fleet => {
                let bucket = ModelBucket::create().await;
                pairs.extend([
                    ("OCI_STORAGE_ENDPOINT".into(), bucket.endpoint.clone()),
                    ("OCI_STORAGE_BUCKET".into(), bucket.name.clone()),
                    ("OCI_STORAGE_REGION".into(), "us-east-1".into()),
                    ("OCI_ACCESS_KEY_ID".into(), "test".into()),
                    ("OCI_SECRET_ACCESS_KEY".into(), "test".into()),
                ]);
                Some(bucket)
            }
        };
        pairs.extend(
            extra
                .iter()
                .map(|(name, value)| ((*name).to_owned(), (*value).to_owned())),
        );

        let mut auth_grpc_addr = None;
        let mut catalog_grpc_addr = None;
        let mut catalog_metrics = None;
        let mut isolated = None;
        let (running, gateways) = match mode {
            Mode::Embedded => {
                let running = gpuproxy_daemon::start(Role::All, config_from(&pairs))
                    .await
                    .expect("the embedded server starts");
                let gateway = gateway_of(&running);
                (vec![running], vec![gateway])
            }
            Mode::Fleet => {
                // Each service starts on a free port, in the table's order; the ones after it (and
                // the gateways) find it at its URL variable.
                let mut running = Vec::new();
                for spec in SERVICES {
                    if killable == Some(spec) {
                        let (runtime, addr) = start_isolated(spec, config_from(&pairs)).await;
                        let mut own = pairs.clone();
                        own.push((spec.port_variable.to_owned(), addr.port().to_string()));
                        isolated = Some(Isolated {
                            spec,
                            pairs: own,
                            runtime: Some(runtime),
                        });
                        pairs.push((spec.url_variable.to_owned(), format!("http://{addr}")));
                        continue;
                    }
                    let service = gpuproxy_daemon::start(Role::Service(spec), config_from(&pairs))
                        .await
                        .unwrap_or_else(|error| panic!("the {} starts: {error:#}", spec.title));
                    let addr = service
                        .internal_addr(spec)
                        .unwrap_or_else(|| panic!("the {} listens", spec.title));
                    pairs.push((spec.url_variable.to_owned(), format!("http://{addr}")));
                    if spec == &AUTH {
                        auth_grpc_addr = Some(addr);
                    }
                    if spec == &CATALOG {
                        catalog_grpc_addr = Some(addr);
                        catalog_metrics = service.metrics_addr.map(|addr| format!("http://{addr}/metrics"));
                    }
                    running.push(service);
                }
                let config = config_from(&pairs);
                let first = gpuproxy_daemon::start(Role::Gateway, config.clone())
                    .await
                    .expect("gateway starts");
                let second = gpuproxy_daemon::start(Role::Gateway, config)
                    .await
                    .expect("gateway replica starts");
                let gateways = vec![gateway_of(&first), gateway_of(&second)];
                running.extend([first, second]);
                (running, gateways)
            }
        };
        let rest = RestClient::new(&gateways[0].http);
        TestFleet {
            mode,
            gateways,
            rest,
            nats,
            auth_grpc_addr,
            catalog_grpc_addr,
            catalog_metrics,
            simulator,
            running,
            isolated,
            _database: database,
            _data_dir: data_dir,
            model_bucket,
        }
    }

    /// Returns a REST client of gateway `index`.
    pub fn rest_of(&self, index: usize) -> RestClient {
        RestClient::new(&self.gateways[index].http)
    }

    /// Returns a plaintext gRPC channel to the first gateway's public API.
    pub async fn grpc_channel(&self) -> tonic::transport::Channel {
        tonic::transport::Endpoint::from_shared(self.gateways[0].grpc.clone())
            .expect("a valid endpoint")
            .connect()
            .await
            .expect("the gateway's gRPC server accepts connections")
    }
}

/// Starts `spec` on a runtime of its own; returns the runtime and where the service listens.
async fn start_isolated(
    spec: &'static ServiceSpec,
    config: DaemonConfig,
) -> (tokio::runtime::Runtime, SocketAddr) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    let running = runtime
        .handle()
        .spawn(gpuproxy_daemon::start(Role::Service(spec), config))
        .await
        .expect("the start-up ran")
        .unwrap_or_else(|error| panic!("the {} starts: {error:#}", spec.title));
    let addr = running
        .internal_addr(spec)
        .unwrap_or_else(|| panic!("the {} listens", spec.title));
    // The tasks live on the runtime; `Running` itself holds nothing that must be kept.
    drop(running);
    (runtime, addr)
}

fn config_from(pairs: &[(String, String)]) -> DaemonConfig {
    let env = EnvMap::from_pairs(pairs.iter().cloned());
    DaemonConfig::from_env_map(&env, false).unwrap_or_else(|errors| panic!("test configuration: {errors}"))
}

fn gateway_of(running: &Running) -> Gateway {
    let http = running.http_addr.expect("the gateway serves REST");
    let grpc_addr = running.grpc_addr.expect("the gateway serves gRPC");
    let scheme = if running.grpc_tls { "https" } else { "http" };
    Gateway {
        http: format!("http://{http}"),
        grpc: format!("{scheme}://{grpc_addr}"),
        grpc_addr,
    }
}
