//! `/api/v0/instances/`: list, show, start/stop/label and destroy instances (spec §4, §7).

use std::time::Instant;

use axum::Json;
use axum::extract::{Path, State};
use bytes::Bytes;
use serde_json::{Value, json};

use crate::state::{SharedState, lock};
use crate::vastai::asks::parse_body;
use crate::vastai::errors::VastError;

const MAX_LABEL_CHARS: usize = 1024;

/// Answers `GET /api/v0/instances/` with every instance by ascending id.
pub(crate) async fn list_instances(State(state): State<SharedState>) -> Json<Value> {
    let now = Instant::now();
    let market = lock(&state.vastai);
    let instances: Vec<_> = market
        .instances()
        .map(|instance| instance.view(now, state.timing))
        .collect();
    Json(json!({"instances_found": instances.len(), "instances": instances}))
}

/// Answers `GET /api/v0/instances/{id}/` with the instance under the plural key, or `null`.
pub(crate) async fn show_instance(
    State(state): State<SharedState>,
    Path(raw_id): Path<String>,
) -> Result<Json<Value>, VastError> {
    let instance_id = parse_instance_id(&raw_id)?;
    let market = lock(&state.vastai);
    let view = market
        .instance(instance_id)
        .map(|instance| instance.view(Instant::now(), state.timing));
    Ok(Json(json!({"instances": view})))
}

/// Handles `PUT /api/v0/instances/{id}/` with `{"state": "running"|"stopped"}` and/or `{"label": ..}`.
pub(crate) async fn manage_instance(
    State(state): State<SharedState>,
    Path(raw_id): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, VastError> {
    let instance_id = parse_instance_id(&raw_id)?;
    let body = parse_body(&body)?;
    let wants_running = match body.get("state").map(Value::as_str) {
        None => None,
        Some(Some("running")) => Some(true),
        Some(Some("stopped")) => Some(false),
        Some(_) => return Err(VastError::invalid_args("state must be running or stopped", None)),
    };
    let label = match body.get("label") {
        None => None,
        Some(Value::String(label)) if label.chars().count() > MAX_LABEL_CHARS => {
            return Err(VastError::label_too_long(MAX_LABEL_CHARS));
        }
        Some(Value::String(label)) => Some(label.clone()),
        Some(_) => return Err(VastError::invalid_args("label must be a string", None)),
    };
    if wants_running.is_none() && label.is_none() {
        return Err(VastError::invalid_args("expected state or label", None));
    }
    let mut market = lock(&state.vastai);
    let instance = market
        .instance_mut(instance_id)
        .ok_or(VastError::no_such_instance(instance_id))?;
    match wants_running {
        Some(true) => instance.run.start(Instant::now(), state.timing),
        Some(false) => instance.run.stop(Instant::now()),
        None => {}
    }
    if let Some(label) = label {
        instance.spec.label = Some(label);
    }
    Ok(Json(json!({"success": true})))
}

/// Handles `DELETE /api/v0/instances/{id}/`: the offer returns to the market and the upstream closes.
pub(crate) async fn destroy_instance(
    State(state): State<SharedState>,
    Path(raw_id): Path<String>,
) -> Result<Json<Value>, VastError> {
    let instance_id = parse_instance_id(&raw_id)?;
    let removed = lock(&state.vastai).remove_instance(instance_id);
    let instance = removed.ok_or(VastError::instance_not_found())?;
    instance.upstream.close().await;
    Ok(Json(json!({"success": true})))
}

fn parse_instance_id(raw_id: &str) -> Result<u64, VastError> {
    raw_id.parse().map_err(|_| VastError::invalid_instance_id())
}
