//! io.net inventory: hardware types, free replicas per location and price quotes (spec §3).

use std::collections::HashMap;
use std::time::Instant;

use axum::Json;
use axum::extract::{Query, State};
use serde_json::{Value, json};

use crate::ionet::errors::IonetError;
use crate::ionet::pool::IONET_FEE_PERCENT;
use crate::ionet::validation::{Issue, Issues};
use crate::market::{GPU_MODELS, country_by_location_id, model_by_hardware_id};
use crate::provider::SimProvider;
use crate::state::{SharedState, lock};

/// The most GPUs one container may get, on every hardware type.
pub(crate) const MAX_GPUS_PER_CONTAINER: i64 = 8;

/// Largest value accepted for counts and hours; io.net documents no upper bound.
const MAX_COUNT: i64 = 1_000_000;

/// Answers `GET .../caas/hardware/max-gpus-per-container`; `available` counts free devices.
pub(crate) async fn hardware(State(state): State<SharedState>) -> Json<Value> {
    let exhausted = state.faults(SimProvider::IoNet).capacity_exhausted;
    let now = Instant::now();
    let market = lock(&state.ionet);
    let hardware: Vec<Value> = GPU_MODELS
        .iter()
        .map(|model| {
            let available = if exhausted {
                0
            } else {
                market.free_devices_of(model, now, state.timing)
            };
            json!({
                "hardware_id": model.ionet_hardware_id,
                "hardware_name": model.ionet_name,
                "brand_name": "NVIDIA",
                "max_gpus_per_container": MAX_GPUS_PER_CONTAINER,
                "available": available,
            })
        })
        .collect();
    Json(json!({"data": {"total": hardware.len(), "hardware": hardware}}))
}

/// Answers `GET .../caas/available-replicas?hardware_id&hardware_qty`.
pub(crate) async fn available_replicas(
    State(state): State<SharedState>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Json<Value>, IonetError> {
    let mut issues = Issues::default();
    let hardware_id = issues.query_int(&params, "hardware_id", 1, MAX_COUNT);
    let gpus = issues.query_int(&params, "hardware_qty", 1, MAX_GPUS_PER_CONTAINER);
    issues.finish()?;
    let (Some(hardware_id), Some(gpus)) = (hardware_id, gpus) else {
        // `finish` has failed whenever a required value is missing.
        return Err(IonetError::internal());
    };
    let Some(model) = model_by_hardware_id(hardware_id) else {
        return Ok(Json(json!({"data": []})));
    };
    if state.faults(SimProvider::IoNet).capacity_exhausted {
        return Ok(Json(json!({"data": []})));
    }
    let gpus = u32::try_from(gpus).unwrap_or(u32::MAX);
    let market = lock(&state.ionet);
    let locations: Vec<Value> = market
        .replicas_by_country(model, gpus, Instant::now(), state.timing)
        .into_iter()
        .map(|(country, replicas)| {
            json!({
                "id": country.location_id,
                "iso2": country.iso2,
                "name": country.name,
                "available_replicas": replicas,
            })
        })
        .collect();
    Ok(Json(json!({"data": locations})))
}

/// Answers `GET .../caas/price?location_ids&hardware_id&duration_hours&gpus_per_container&replica_count`.
///
/// The price depends only on the hardware; the locations only decide `available_replica_count`,
/// and unknown location ids count zero replicas.
pub(crate) async fn price(
    State(state): State<SharedState>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Json<Value>, IonetError> {
    let mut issues = Issues::default();
    let location_ids = parse_location_ids(&params, &mut issues);
    let hardware_id = issues.query_int(&params, "hardware_id", 1, MAX_COUNT);
    let hours = issues.query_int(&params, "duration_hours", 1, MAX_COUNT);
    let gpus = issues.query_int(&params, "gpus_per_container", 1, MAX_GPUS_PER_CONTAINER);
    let replicas = issues.query_int(&params, "replica_count", 1, MAX_COUNT);
    issues.finish()?;
    let (Some(location_ids), Some(hardware_id), Some(hours), Some(gpus), Some(replicas)) =
        (location_ids, hardware_id, hours, gpus, replicas)
    else {
        // `finish` has failed whenever a required value is missing.
        return Err(IonetError::internal());
    };
    let model = model_by_hardware_id(hardware_id)
        .ok_or_else(|| IonetError::unknown(format!("Hardware {hardware_id} not found")))?;
    let [gpus, hours, replicas] =
        [gpus, hours, replicas].map(|count| u32::try_from(count).unwrap_or(u32::MAX));
    let exhausted = state.faults(SimProvider::IoNet).capacity_exhausted;
    let now = Instant::now();
    let market = lock(&state.ionet);
    let available: Vec<usize> = location_ids
        .iter()
        .map(|location_id| match country_by_location_id(*location_id) {
            Some(country) if !exhausted => market.replicas_in(model, country, gpus, now, state.timing),
            _ => 0,
        })
        .collect();
    let quote = market.quote(model, gpus, hours, replicas);
    Ok(Json(json!({"data": {
        "replica_count": replicas,
        "gpus_per_container": gpus,
        "available_replica_count": available,
        "discount": 0,
        "ionet_fee": quote.fee,
        "ionet_fee_percent": IONET_FEE_PERCENT,
        "currency_conversion_fee": 0,
        "currency_conversion_fee_percent": 0,
        "total_cost_usdc": quote.total,
    }})))
}

/// Parses `location_ids`, a JSON array of integers passed as a string (`%5B9%5D`).
fn parse_location_ids(params: &HashMap<String, String>, issues: &mut Issues) -> Option<Vec<i64>> {
    const LOC: [&str; 2] = ["query", "location_ids"];
    let Some(raw) = params.get("location_ids") else {
        issues.push(Issue::missing(&LOC));
        return None;
    };
    match serde_json::from_str::<Vec<i64>>(raw) {
        Ok(ids) if !ids.is_empty() => Some(ids),
        _ => {
            let msg = "Value error, location_ids must be a non-empty JSON array of integers";
            issues.push(Issue::invalid(&LOC, "value_error", msg));
            None
        }
    }
}
