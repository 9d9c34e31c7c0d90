//! `spawn_sim` and typed helpers shared by every test.

use std::future::Future;
use std::time::Duration;

use gpuproxy_provider_sim::{SimConfig, Simulator};
use reqwest::{Client, Method, RequestBuilder, Response};
use serde_json::{Value, json};
use tokio::net::TcpListener;

pub const VAST_KEY: &str = "sim-vastai-key";
pub const IONET_KEY: &str = "sim-ionet-key";
pub const CAAS: &str = "/enterprise/v1/io-cloud/caas";

/// How long a poll waits for a status before the test fails.
const POLL_DEADLINE: Duration = Duration::from_secs(10);
const POLL_INTERVAL: Duration = Duration::from_millis(20);

pub struct TestSim {
    pub sim: Simulator,
    pub client: Client,
}

/// Starts a simulator on port 0 that boots instances at once and has a small market.
pub async fn spawn_sim() -> TestSim {
    spawn_sim_with(quick_config()).await
}

/// Returns the config of `spawn_sim`: instantly running instances, 400 offers and devices.
pub fn quick_config() -> SimConfig {
    SimConfig {
        vastai_offers: 400,
        ionet_devices: 400,
        loading_after: Duration::ZERO,
        running_after: Duration::ZERO,
        ..SimConfig::default()
    }
}

pub async fn spawn_sim_with(config: SimConfig) -> TestSim {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("binding port 0");
    let sim = Simulator::start(config, listener)
        .await
        .expect("starting the simulator");
    TestSim {
        sim,
        client: Client::new(),
    }
}

impl TestSim {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.sim.base_url())
    }

    /// Returns a vast.ai request with the bearer key.
    pub fn vast(&self, method: Method, path: &str) -> RequestBuilder {
        self.client.request(method, self.url(path)).bearer_auth(VAST_KEY)
    }

    /// Returns an io.net request with the `x-api-key` header.
    pub fn ionet(&self, method: Method, path: &str) -> RequestBuilder {
        self.client
            .request(method, self.url(&format!("{CAAS}{path}")))
            .header("x-api-key", IONET_KEY)
    }

    /// Searches vast.ai offers and returns the `offers` list.
    pub async fn vast_search(&self, query: Value) -> Vec<Value> {
        let response = self
            .vast(Method::POST, "/api/v0/bundles/")
            .json(&query)
            .send()
            .await
            .expect("search");
        assert_eq!(response.status(), 200, "search failed");
        let body: Value = response.json().await.expect("search body");
        body["offers"].as_array().cloned().expect("offers list")
    }

    /// Returns the id of a rentable offer.
    pub async fn rentable_offer_id(&self) -> u64 {
        let offers = self
            .vast_search(json!({"rentable": {"eq": true}, "limit": 1}))
            .await;
        offers[0]["id"].as_u64().expect("offer id")
    }

    /// Rents an offer with a minimal body.
    pub async fn vast_create(&self, offer_id: u64, body: Value) -> Response {
        self.vast(Method::PUT, &format!("/api/v0/asks/{offer_id}/"))
            .json(&body)
            .send()
            .await
            .expect("create")
    }

    /// Rents an offer and returns the instance id.
    pub async fn vast_rent(&self, offer_id: u64) -> u64 {
        let response = self
            .vast_create(
                offer_id,
                json!({"client_id": "me", "image": "vllm/vllm-openai:latest"}),
            )
            .await;
        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.expect("create body");
        body["new_contract"].as_u64().expect("new_contract")
    }

    pub async fn vast_instance(&self, instance_id: u64) -> Value {
        let response = self
            .vast(Method::GET, &format!("/api/v0/instances/{instance_id}/"))
            .send()
            .await
            .expect("show");
        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.expect("show body");
        body["instances"].clone()
    }

    /// Polls until the instance reports `running` and returns it.
    pub async fn wait_for_vast_running(&self, instance_id: u64) -> Value {
        poll_until(|| async {
            let instance = self.vast_instance(instance_id).await;
            (instance["actual_status"] == "running").then_some(instance)
        })
        .await
    }

    /// Returns a location with free capacity for one `gpus`-GPU replica of some hardware.
    pub async fn ionet_capacity(&self, gpus: u32) -> (u64, u64) {
        for hardware_id in [101, 102, 103, 104, 201, 202, 203, 204, 205] {
            let path = format!("/available-replicas?hardware_id={hardware_id}&hardware_qty={gpus}");
            let body: Value = self
                .ionet(Method::GET, &path)
                .send()
                .await
                .expect("replicas")
                .json()
                .await
                .expect("json");
            if let Some(location) = body["data"].as_array().and_then(|locations| locations.first()) {
                return (hardware_id, location["id"].as_u64().expect("location id"));
            }
        }
        panic!("no io.net capacity at all");
    }

    /// Deploys one 1-GPU replica with a nested body and returns the deployment id.
    pub async fn ionet_deploy(&self, name: &str) -> String {
        let (hardware_id, location_id) = self.ionet_capacity(1).await;
        let response = self
            .ionet(Method::POST, "/deploy")
            .json(&deploy_body(name, hardware_id, location_id))
            .send()
            .await
            .expect("deploy");
        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.expect("deploy body");
        body["deployment_id"].as_str().expect("deployment_id").to_owned()
    }

    pub async fn ionet_get(&self, path: &str) -> Value {
        let response = self.ionet(Method::GET, path).send().await.expect("io.net get");
        assert_eq!(response.status(), 200, "GET {path}");
        response.json().await.expect("io.net body")
    }

    /// Polls until the deployment's first worker has a `public_url` and returns it.
    pub async fn wait_for_public_url(&self, deployment_id: &str) -> String {
        poll_until(|| async {
            let containers = self
                .ionet_get(&format!("/deployment/{deployment_id}/containers"))
                .await;
            containers["data"]["workers"][0]["public_url"]
                .as_str()
                .map(str::to_owned)
        })
        .await
    }
}

/// Returns a nested deploy body for one 1-GPU replica.
pub fn deploy_body(name: &str, hardware_id: u64, location_id: u64) -> Value {
    json!({
        "resource_private_name": name,
        "duration_hours": 2,
        "gpus_per_container": 1,
        "hardware_id": hardware_id,
        "location_ids": [location_id],
        "container_config": {
            "replica_count": 1,
            "traffic_port": 8000,
            "entrypoint": ["python3", "-m", "app"],
            "env_variables": {"MODEL": "x"},
            "secret_env_variables": {"HF_TOKEN": "secret"},
        },
        "registry_config": {"image_url": "docker.io/org/image:tag"},
    })
}

/// Returns a client that opens a fresh connection per request, so a closed listener shows at once.
pub fn upstream_client() -> Client {
    Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .expect("building a client")
}

/// Polls `check` until it returns `Some`, failing the test after the deadline. Instance status is
/// driven by wall-clock time inside the simulator, so polling is the only way to observe it.
pub async fn poll_until<T, F, Fut>(mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + POLL_DEADLINE;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "condition not reached within {POLL_DEADLINE:?}"
        );
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}
