//! io.net's JSON shapes (shared/specs/ionet-api.md, IO Cloud CaaS), only the fields the catalog reads.

use serde::Deserialize;

/// Reads wrap their payload in `{"data": ...}`.
#[derive(Debug, Deserialize)]
pub struct Data<T> {
    pub data: T,
}

/// `GET .../caas/hardware/max-gpus-per-container` (§3.1).
#[derive(Debug, Deserialize)]
pub struct HardwareList {
    pub hardware: Vec<Hardware>,
}

/// One hardware type.
#[derive(Debug, Clone, Deserialize)]
pub struct Hardware {
    pub hardware_id: i64,
    pub hardware_name: String,
    #[serde(default)]
    pub brand_name: Option<String>,
    pub max_gpus_per_container: i64,
}

/// `GET .../caas/available-replicas` (§3.2): one entry per location with capacity.
#[derive(Debug, Deserialize)]
pub struct Location {
    pub id: i64,
    pub iso2: Option<String>,
    pub name: Option<String>,
    pub available_replicas: i64,
}

/// `GET .../caas/price` (§3.3).
#[derive(Debug, Deserialize)]
pub struct Price {
    pub total_cost_usdc: f64,
}

/// `POST .../caas/deploy` and `DELETE .../deployment/{id}` (§4, §7).
#[derive(Debug, Deserialize)]
pub struct DeployResponse {
    pub deployment_id: String,
}

/// `GET .../caas/deployment/{id}` (§5.1), the fields we read.
#[derive(Debug, Deserialize)]
pub struct Deployment {
    pub id: String,
    pub status: String,
    #[serde(default)]
    pub container_config: Option<ContainerConfig>,
}

/// The deployment's container settings.
#[derive(Debug, Deserialize)]
pub struct ContainerConfig {
    #[serde(default)]
    pub traffic_port: Option<u16>,
}

/// `GET .../caas/deployments` (§5.2).
#[derive(Debug, Deserialize)]
pub struct DeploymentList {
    pub deployments: Vec<DeploymentSummary>,
    pub total: i64,
}

/// One entry of the list.
#[derive(Debug, Deserialize)]
pub struct DeploymentSummary {
    pub id: String,
    pub status: String,
    #[serde(default)]
    pub name: Option<String>,
}

/// `GET .../deployment/{id}/containers` (§5.3).
#[derive(Debug, Deserialize)]
pub struct Workers {
    pub workers: Vec<Worker>,
}

/// One container; `public_url` is how its traffic port is reached, null until it runs.
#[derive(Debug, Deserialize)]
pub struct Worker {
    #[serde(default)]
    pub public_url: Option<String>,
}
