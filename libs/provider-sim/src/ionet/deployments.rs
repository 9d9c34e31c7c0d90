//! Reading and destroying deployments: detail, list, containers and delete (spec §5, §7).

use std::collections::HashMap;
use std::time::Instant;

use axum::Json;
use axum::extract::{Path, Query, State};
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::ionet::errors::IonetError;
use crate::ionet::pool::Deployment;
use crate::ionet::validation::{Issue, Issues};
use crate::lifecycle::{DeploymentStatus, Timing};
use crate::market::round_to;
use crate::state::{SharedState, lock};

/// `page_size` when the query names none.
const DEFAULT_PAGE_SIZE: i64 = 10;
const DEFAULT_CONTAINER_PAGE_SIZE: i64 = 20;
const MAX_PAGE_SIZE: i64 = 100;

/// Answers `GET .../caas/deployment/{id}`.
pub(crate) async fn deployment_detail(
    State(state): State<SharedState>,
    Path(raw_id): Path<String>,
) -> Result<Json<Value>, IonetError> {
    let id = parse_deployment_id(&raw_id)?;
    let market = lock(&state.ionet);
    let deployment = market.deployment(&id).ok_or_else(IonetError::not_found)?;
    Ok(Json(
        json!({"data": detail(deployment, Instant::now(), state.timing)}),
    ))
}

/// Answers `GET .../caas/deployments?status&page&page_size`, newest first.
pub(crate) async fn list_deployments(
    State(state): State<SharedState>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Json<Value>, IonetError> {
    let mut issues = Issues::default();
    let status_filter = match params
        .get("status")
        .map(|status| DeploymentStatus::parse_filter(status))
    {
        None => None,
        Some(Some(status)) => Some(status),
        Some(None) => {
            let msg = "Input should be 'running', 'completed', 'failed', 'deployment requested', \
                       'termination requested' or 'destroyed'";
            issues.push(Issue::invalid(&["query", "status"], "enum", msg));
            None
        }
    };
    let page = issues.query_int_or(&params, "page", 0, (0, i64::MAX));
    let page_size = issues.query_int_or(&params, "page_size", DEFAULT_PAGE_SIZE, (1, MAX_PAGE_SIZE));
    issues.finish()?;
    let now = Instant::now();
    let market = lock(&state.ionet);
    let mut statuses: Vec<DeploymentStatus> = Vec::new();
    let mut matching = Vec::new();
    for deployment in market.deployments_newest_first() {
        let status = deployment.clock.status(now, state.timing);
        if !statuses.contains(&status) {
            statuses.push(status);
        }
        // `Some(None)` is the valid filter "failed", which no simulated deployment reaches.
        if status_filter.is_none_or(|wanted| wanted == Some(status)) {
            matching.push(summary(deployment, status, now, state.timing));
        }
    }
    statuses.sort_unstable();
    let total = matching.len();
    let deployments: Vec<Value> = paginate(matching, page, page_size);
    let statuses: Vec<&str> = statuses.into_iter().map(DeploymentStatus::as_str).collect();
    Ok(Json(
        json!({"data": {"deployments": deployments, "total": total, "statuses": statuses}}),
    ))
}

/// Answers `GET .../caas/deployment/{id}/containers?page&page_size`.
pub(crate) async fn containers(
    State(state): State<SharedState>,
    Path(raw_id): Path<String>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Json<Value>, IonetError> {
    let id = parse_deployment_id(&raw_id)?;
    let mut issues = Issues::default();
    let page = issues.query_int_or(&params, "page", 0, (0, i64::MAX));
    let page_size = issues.query_int_or(
        &params,
        "page_size",
        DEFAULT_CONTAINER_PAGE_SIZE,
        (1, MAX_PAGE_SIZE),
    );
    issues.finish()?;
    let now = Instant::now();
    let market = lock(&state.ionet);
    let deployment = market.deployment(&id).ok_or_else(IonetError::not_found)?;
    let workers = workers(deployment, now, state.timing);
    let total = workers.len();
    Ok(Json(
        json!({"data": {"total": total, "workers": paginate(workers, page, page_size)}}),
    ))
}

/// Handles `DELETE .../caas/deployment/{id}`: devices return to the pool, unused time is refunded
/// and the upstream listener closes. Deleting a terminated deployment again is harmless.
pub(crate) async fn destroy_deployment(
    State(state): State<SharedState>,
    Path(raw_id): Path<String>,
) -> Result<Json<Value>, IonetError> {
    let id = parse_deployment_id(&raw_id)?;
    let now = Instant::now();
    let (upstream, status) = {
        let mut market = lock(&state.ionet);
        let upstream = market
            .terminate(&id, now, state.timing)
            .ok_or_else(IonetError::not_found)?;
        (upstream, market.deployment_status(&id, now, state.timing))
    };
    if let Some(upstream) = upstream {
        upstream.close().await;
    }
    let status = status.unwrap_or(DeploymentStatus::Destroyed).as_str();
    Ok(Json(json!({"status": status, "deployment_id": id})))
}

fn parse_deployment_id(raw_id: &str) -> Result<Uuid, IonetError> {
    Uuid::parse_str(raw_id).map_err(|_| {
        let msg = "Input should be a valid UUID";
        IonetError::validation(vec![Issue::invalid(
            &["path", "deployment_id"],
            "uuid_parsing",
            msg,
        )])
    })
}

fn detail(deployment: &Deployment, now: Instant, timing: Timing) -> Value {
    let status = deployment.clock.status(now, timing);
    let (served, remaining) = minutes(deployment, now, timing);
    json!({
        "id": deployment.id,
        "status": status.as_str(),
        "created_at": timestamp(deployment.created_at),
        "started_at": started_at(deployment, now, timing).map(timestamp),
        "finished_at": finished_at(deployment, status).map(timestamp),
        "amount_paid": deployment.amount_paid,
        "completed_percent": completed_percent(deployment, now),
        "total_gpus": deployment.total_gpus(),
        "gpus_per_container": deployment.gpus_per_container,
        "total_containers": deployment.replica_count(),
        "hardware_id": deployment.model.ionet_hardware_id,
        "hardware_name": deployment.model.ionet_name,
        "brand_name": "NVIDIA",
        "locations": [{
            "id": deployment.country.location_id,
            "iso2": deployment.country.iso2,
            "name": deployment.country.name,
        }],
        "compute_minutes_served": served,
        "compute_minutes_remaining": remaining,
        "container_config": {
            "image_url": deployment.container.image_url,
            "traffic_port": deployment.container.traffic_port,
            "entrypoint": deployment.container.entrypoint,
            "args": deployment.container.args,
            "command": deployment.container.command,
            "env_variables": deployment.container.env_variables,
            "secret_env_keys": deployment.container.secret_env_keys,
        },
    })
}

/// Returns a list entry; `hardware_quantity` is the deployment's total GPU count.
fn summary(deployment: &Deployment, status: DeploymentStatus, now: Instant, timing: Timing) -> Value {
    let (served, remaining) = minutes(deployment, now, timing);
    json!({
        "id": deployment.id,
        "status": status.as_str(),
        "name": deployment.name,
        "completed_percent": completed_percent(deployment, now),
        "hardware_quantity": deployment.total_gpus(),
        "brand_name": "NVIDIA",
        "hardware_name": deployment.model.ionet_name,
        "compute_minutes_served": served,
        "compute_minutes_remaining": remaining,
    })
}

/// Returns the replicas; each reaches the deployment's one upstream listener once running.
fn workers(deployment: &Deployment, now: Instant, timing: Timing) -> Vec<Value> {
    let status = deployment.clock.status(now, timing);
    let running = status == DeploymentStatus::Running;
    let public_url = deployment
        .upstream
        .as_ref()
        .filter(|_| running)
        .map(|upstream| format!("http://127.0.0.1:{}", upstream.port()));
    let mut events = vec![json!({"time": timestamp(deployment.created_at), "message": "Container created"})];
    if let Some(started) = started_at(deployment, now, timing) {
        events.push(json!({"time": timestamp(started), "message": "Container started"}));
    }
    if let Some(finished) = finished_at(deployment, status) {
        events.push(json!({"time": timestamp(finished), "message": "Container terminated"}));
    }
    deployment
        .workers
        .iter()
        .map(|worker| {
            json!({
                "container_id": worker.container_id,
                "device_id": worker.device_id,
                "hardware": deployment.model.ionet_name,
                "brand_name": "NVIDIA",
                "gpus_per_container": deployment.gpus_per_container,
                "status": status.as_str(),
                "uptime_percent": if running { 100.0 } else { 0.0 },
                "created_at": timestamp(deployment.created_at),
                "container_events": events,
                "public_url": public_url,
            })
        })
        .collect()
}

fn started_at(deployment: &Deployment, now: Instant, timing: Timing) -> Option<DateTime<Utc>> {
    let started = deployment.clock.created + timing.running_after();
    let end = deployment.clock.terminated.unwrap_or(now);
    (end >= started).then(|| deployment.wall_time(started))
}

fn finished_at(deployment: &Deployment, status: DeploymentStatus) -> Option<DateTime<Utc>> {
    match (deployment.clock.terminated, status) {
        (Some(terminated), _) => Some(deployment.wall_time(terminated)),
        (None, DeploymentStatus::Completed) => {
            Some(deployment.wall_time(deployment.clock.created + deployment.clock.prepaid))
        }
        (None, _) => None,
    }
}

/// Returns (served, remaining) compute minutes of the prepaid time.
fn minutes(deployment: &Deployment, now: Instant, timing: Timing) -> (u64, u64) {
    let served = deployment.clock.served(now, timing).as_secs() / 60;
    let prepaid = deployment.clock.prepaid.as_secs() / 60;
    (served, prepaid.saturating_sub(served))
}

fn completed_percent(deployment: &Deployment, now: Instant) -> f64 {
    let end = deployment.clock.terminated.unwrap_or(now);
    let elapsed = end
        .saturating_duration_since(deployment.clock.created)
        .as_secs_f64();
    round_to(
        (elapsed / deployment.clock.prepaid.as_secs_f64() * 100.0).min(100.0),
        1,
    )
}

fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn paginate(items: Vec<Value>, page: Option<i64>, page_size: Option<i64>) -> Vec<Value> {
    let page_size = page_size.and_then(|size| usize::try_from(size).ok()).unwrap_or(1);
    let skip = page
        .and_then(|page| usize::try_from(page).ok())
        .unwrap_or(0)
        .saturating_mul(page_size);
    items.into_iter().skip(skip).take(page_size).collect()
}
