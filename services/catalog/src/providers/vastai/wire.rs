//! vast.ai's JSON shapes (shared/specs/vastai-api.md), only the fields the catalog reads; every
//! other key is ignored, as the spec asks of clients.

use std::collections::BTreeMap;

use serde::Deserialize;

/// `POST /api/v0/bundles/` → `{"offers": [...]}` (§2.2). Offers stay raw until parsed one by one,
/// so that one offer with an unexpected field type is skipped instead of failing the whole search.
#[derive(Debug, Deserialize)]
pub struct SearchResponse {
    /// The offers.
    pub offers: Vec<Box<serde_json::value::RawValue>>,
}

/// One offer (§2.2). Optional where real answers have been seen to omit or null the field.
#[derive(Debug, Deserialize)]
pub struct Offer {
    pub id: u64,
    pub num_gpus: Option<i64>,
    pub gpu_name: Option<String>,
    /// MB per GPU.
    pub gpu_ram: Option<f64>,
    pub gpu_total_ram: Option<f64>,
    /// $/hour including the storage asked for.
    pub dph_total: Option<f64>,
    pub dph_base: Option<f64>,
    pub min_bid: Option<f64>,
    pub storage_cost: Option<f64>,
    pub reliability: Option<f64>,
    pub reliability2: Option<f64>,
    pub geolocation: Option<String>,
    pub machine_id: Option<u64>,
    pub host_id: Option<u64>,
    pub verification: Option<String>,
    pub cuda_max_good: Option<f64>,
    pub driver_version: Option<String>,
    pub cpu_name: Option<String>,
    pub cpu_cores_effective: Option<f64>,
    /// MB.
    pub cpu_ram: Option<f64>,
    /// GB.
    pub disk_space: Option<f64>,
    pub inet_up: Option<f64>,
    pub inet_down: Option<f64>,
    pub direct_port_count: Option<i64>,
    pub static_ip: Option<bool>,
    pub datacenter: Option<bool>,
    pub compute_cap: Option<i64>,
    pub total_flops: Option<f64>,
    pub dlperf: Option<f64>,
    /// Seconds of rental left.
    pub duration: Option<f64>,
}

/// `PUT /api/v0/asks/{id}/` → `{"success": true, "new_contract": 7835610}` (§3).
#[derive(Debug, Deserialize)]
pub struct CreateResponse {
    pub success: Option<bool>,
    pub new_contract: Option<u64>,
    pub msg: Option<String>,
    pub error: Option<String>,
}

/// `GET /api/v0/instances/{id}/` → `{"instances": {...} | null}` (§4.3).
#[derive(Debug, Deserialize)]
pub struct ShowResponse {
    pub instances: Option<Instance>,
}

/// `GET /api/v0/instances/` → `{"instances": [...]}` (§4.1).
#[derive(Debug, Deserialize)]
pub struct ListResponse {
    #[serde(default)]
    pub instances: Vec<Instance>,
}

/// An instance (§4.4).
#[derive(Debug, Deserialize)]
pub struct Instance {
    pub id: u64,
    pub actual_status: Option<String>,
    pub intended_status: Option<String>,
    pub cur_state: Option<String>,
    pub label: Option<String>,
    pub public_ipaddr: Option<String>,
    /// `"8000/tcp"` → `[{"HostIp": "0.0.0.0", "HostPort": "20001"}]` (§5).
    pub ports: Option<BTreeMap<String, Vec<PortBinding>>>,
}

/// One Docker port binding; the port is a string on the wire.
#[derive(Debug, Deserialize)]
pub struct PortBinding {
    #[serde(rename = "HostPort")]
    pub host_port: String,
}

/// `{"success": true}` of start/stop/destroy (§7).
#[derive(Debug, Deserialize)]
pub struct SuccessResponse {
    pub success: Option<bool>,
    pub msg: Option<String>,
}
