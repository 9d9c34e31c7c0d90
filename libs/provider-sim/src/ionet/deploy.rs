//! `POST .../caas/deploy`: placing a prepaid container deployment (spec §4, §10).

use std::time::Instant;

use axum::Json;
use axum::extract::State;
use bytes::Bytes;
use chrono::Utc;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::ionet::deploy_request::parse_request;
use crate::ionet::errors::IonetError;
use crate::ionet::pool::{Deployment, prepaid};
use crate::ionet::validation::Issue;
use crate::lifecycle::{DeploymentClock, DeploymentStatus};
use crate::market::{country_by_location_id, model_by_hardware_id};
use crate::provider::SimProvider;
use crate::state::{SharedState, lock};
use crate::upstream::{UpstreamTarget, spawn_upstream};

/// Places the deployment, debits its price and binds its upstream listener.
pub(crate) async fn deploy(State(state): State<SharedState>, body: Bytes) -> Result<Json<Value>, IonetError> {
    let Ok(Value::Object(body)) = serde_json::from_slice::<Value>(&body) else {
        return Err(IonetError::validation(vec![Issue::json_invalid()]));
    };
    let request = parse_request(&body)?;
    if request.node_pool_id.is_some() {
        return Err(IonetError::unknown("Node pool not found".to_owned()));
    }
    let hardware_id = request.hardware_id;
    let model = model_by_hardware_id(hardware_id)
        .ok_or_else(|| IonetError::unknown(format!("Hardware {hardware_id} not found")))?;
    let location_id = request.location_id.unwrap_or_default();
    let country = country_by_location_id(location_id)
        .ok_or_else(|| IonetError::unknown(format!("Location {location_id} not found")))?;
    let no_capacity = || {
        IonetError::conflict(format!(
            "No capacity available for hardware {hardware_id} in location {location_id}"
        ))
    };
    let faults = state.faults(SimProvider::IoNet);
    let now = Instant::now();
    let mut market = lock(&state.ionet);
    if market.name_in_use(&request.name, now, state.timing) {
        return Err(IonetError::conflict(format!(
            "Deployment with name '{}' already exists",
            request.name
        )));
    }
    if faults.capacity_exhausted {
        return Err(no_capacity());
    }
    let (gpus, replicas) = (request.gpus_per_container, request.replica_count);
    let devices = market
        .pick_devices(model, country, gpus, replicas, now, state.timing)
        .ok_or_else(no_capacity)?;
    if faults.vanish_before_create {
        market.remove_devices(&devices);
        return Err(IonetError::conflict(format!(
            "The requested devices for hardware {hardware_id} in location {location_id} are no longer available"
        )));
    }
    let quote = market.quote(model, gpus, request.duration_hours, replicas);
    if quote.total > market.credits_usd() {
        return Err(IonetError::insufficient_funds());
    }
    let deployment_id = Uuid::now_v7();
    let upstream = spawn_upstream(&state, UpstreamTarget::IoNet { deployment_id }).map_err(|error| {
        tracing::error!(%error, %deployment_id, "binding the deployment's upstream listener failed");
        IonetError::internal()
    })?;
    let deployment = Deployment {
        id: deployment_id,
        name: request.name,
        model,
        country,
        gpus_per_container: gpus,
        duration_hours: request.duration_hours,
        container: request.container,
        workers: Vec::new(),
        amount_paid: quote.total,
        created_at: Utc::now(),
        clock: DeploymentClock {
            created: now,
            prepaid: prepaid(request.duration_hours),
            terminated: None,
        },
        upstream: Some(upstream),
    };
    market.insert_deployment(deployment, &devices);
    Ok(Json(
        json!({"status": DeploymentStatus::DeploymentRequested.as_str(), "deployment_id": deployment_id}),
    ))
}
