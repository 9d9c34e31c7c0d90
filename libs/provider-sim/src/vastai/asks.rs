//! `PUT /api/v0/asks/{id}/`: renting an offer creates an instance (spec §3).

use std::collections::BTreeSet;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use axum::Json;
use axum::extract::{Path, State};
use bytes::Bytes;
use serde_json::{Map, Value, json};

use crate::lifecycle::RunState;
use crate::provider::SimProvider;
use crate::state::{SharedState, lock};
use crate::upstream::{UpstreamTarget, spawn_upstream};
use crate::vastai::errors::VastError;
use crate::vastai::instance::{LaunchSpec, VastInstance};
use crate::vastai::market::RentRefusal;

const MAX_IMAGE_CHARS: usize = 1024;
const MAX_CREATE_LABEL_CHARS: usize = 256;
const MAX_PORTS: usize = 64;
/// GB of disk when the body names none (the SDK's default).
const DEFAULT_DISK_GB: f64 = 10.0;
const BID_RANGE: (f64, f64) = (0.001, 128.0);

/// Rents the offer, binds the instance's upstream listener and answers with the new contract id.
pub(crate) async fn create_instance(
    State(state): State<SharedState>,
    Path(raw_offer_id): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, VastError> {
    let offer_id: u64 = raw_offer_id
        .parse()
        .map_err(|_| VastError::invalid_args("invalid ask id", None))?;
    let body = parse_body(&body)?;
    let spec = parse_launch_spec(&body).map_err(|msg| VastError::invalid_args(&msg, Some(offer_id)))?;
    let faults = state.faults(SimProvider::VastAi);
    let mut market = lock(&state.vastai);
    if faults.vanish_before_create {
        market.remove_offer(offer_id);
    }
    let offer = match market.offer_for_rent(offer_id) {
        Ok(_) if faults.capacity_exhausted => return Err(VastError::no_longer_available(offer_id)),
        Ok(offer) => offer.clone(),
        Err(RentRefusal::Unknown) => return Err(VastError::no_such_ask(offer_id)),
        Err(RentRefusal::Unavailable) => return Err(VastError::no_longer_available(offer_id)),
    };
    if let Some(bid) = spec.bid_price
        && bid < offer.min_bid
    {
        return Err(VastError::invalid_price(
            "bid price is below the current min_bid",
            offer_id,
        ));
    }
    let instance_id = market.next_instance_id();
    let upstream = spawn_upstream(&state, UpstreamTarget::VastAi { instance_id }).map_err(|error| {
        tracing::error!(%error, instance_id, "binding the instance's upstream listener failed");
        VastError::server_error("could not start the instance")
    })?;
    let instance_api_key = market.secret_hex(32);
    let jupyter_token = market.secret_hex(32);
    let run = RunState::created(spec.start_running, Instant::now());
    market.insert_instance(VastInstance {
        id: instance_id,
        offer,
        spec,
        run,
        created_epoch: epoch_seconds(),
        jupyter_token,
        upstream,
    });
    Ok(Json(
        json!({"success": true, "new_contract": instance_id, "instance_api_key": instance_api_key}),
    ))
}

/// Parses a JSON object body; an empty body counts as `{}`.
pub(crate) fn parse_body(body: &[u8]) -> Result<Map<String, Value>, VastError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice(body) {
        Ok(Value::Object(fields)) => Ok(fields),
        _ => Err(VastError::invalid_json_body()),
    }
}

fn parse_launch_spec(body: &Map<String, Value>) -> Result<LaunchSpec, String> {
    let image = match body.get("image") {
        Some(Value::String(image)) if !image.trim().is_empty() => image.clone(),
        _ => return Err("image is required".to_owned()),
    };
    if image.chars().count() > MAX_IMAGE_CHARS {
        return Err(format!("image must be at most {MAX_IMAGE_CHARS} characters"));
    }
    let disk = match body.get("disk") {
        None | Some(Value::Null) => DEFAULT_DISK_GB,
        Some(value) => number(value)
            .filter(|disk| *disk > 0.0)
            .ok_or("disk must be a positive number")?,
    };
    let (env, ports) = parse_env(body.get("env"))?;
    let args = match (body.get("args"), body.get("args_str")) {
        (Some(Value::Array(args)), _) => args
            .iter()
            .map(|arg| arg.as_str().map(str::to_owned))
            .collect::<Option<Vec<_>>>()
            .ok_or("args must be strings")?,
        (_, Some(Value::String(args))) => args.split_whitespace().map(str::to_owned).collect(),
        _ => Vec::new(),
    };
    let runtype = match body.get("runtype") {
        Some(Value::String(runtype)) if !runtype.is_empty() => runtype.clone(),
        _ if !args.is_empty() => "args".to_owned(),
        _ => "ssh".to_owned(),
    };
    let label = optional_string(body, "label")?;
    if label
        .as_ref()
        .is_some_and(|label| label.chars().count() > MAX_CREATE_LABEL_CHARS)
    {
        return Err(format!(
            "label must be at most {MAX_CREATE_LABEL_CHARS} characters"
        ));
    }
    let bid_price = match body.get("price") {
        None | Some(Value::Null) => None,
        Some(value) => Some(
            number(value)
                .filter(|price| (BID_RANGE.0..=BID_RANGE.1).contains(price))
                .ok_or("price must be between 0.001 and 128")?,
        ),
    };
    let start_running = match body.get("target_state").and_then(Value::as_str) {
        None | Some("running") => true,
        Some("stopped") => false,
        Some(_) => return Err("target_state must be running or stopped".to_owned()),
    };
    Ok(LaunchSpec {
        image,
        disk,
        env,
        ports,
        onstart: optional_string(body, "onstart")?,
        runtype,
        args,
        label,
        bid_price,
        start_running,
    })
}

type EnvAndPorts = (Vec<(String, String)>, BTreeSet<(u16, &'static str)>);

/// Parses `env` in either form: an object whose keys may be docker options (`"-p 8000:8000": "1"`),
/// or a docker flag string (`"-e A=1 -p 8000:8000"`).
fn parse_env(env: Option<&Value>) -> Result<EnvAndPorts, String> {
    let mut pairs = Vec::new();
    let mut ports = BTreeSet::new();
    match env {
        None | Some(Value::Null) => {}
        Some(Value::Object(entries)) => {
            for (key, value) in entries {
                if let Some(mapping) = key.strip_prefix("-p ") {
                    ports.extend(parse_port(mapping));
                }
                let value = match value {
                    Value::String(text) => text.clone(),
                    other => other.to_string(),
                };
                pairs.push((key.clone(), value));
            }
        }
        Some(Value::String(flags)) => {
            let mut tokens = flags.split_whitespace();
            while let Some(flag) = tokens.next() {
                match (flag, tokens.next()) {
                    ("-e", Some(assignment)) => {
                        let (key, value) = assignment.split_once('=').unwrap_or((assignment, ""));
                        pairs.push((key.to_owned(), value.to_owned()));
                    }
                    ("-p", Some(mapping)) => {
                        ports.extend(parse_port(mapping));
                        pairs.push((format!("-p {mapping}"), "1".to_owned()));
                    }
                    _ => {}
                }
            }
        }
        Some(_) => return Err("env must be an object or a string".to_owned()),
    }
    if ports.len() > MAX_PORTS {
        return Err(format!("at most {MAX_PORTS} ports may be exposed"));
    }
    Ok((pairs, ports))
}

/// Parses `HOST:CONTAINER[/udp]` into the container port and protocol.
fn parse_port(mapping: &str) -> Option<(u16, &'static str)> {
    let (ports, protocol) = match mapping.trim().split_once('/') {
        Some((ports, "udp")) => (ports, "udp"),
        Some((ports, _)) => (ports, "tcp"),
        None => (mapping.trim(), "tcp"),
    };
    let container = ports.rsplit(':').next()?;
    container.parse().ok().map(|port| (port, protocol))
}

fn optional_string(body: &Map<String, Value>, key: &str) -> Result<Option<String>, String> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(text.clone())),
        Some(_) => Err(format!("{key} must be a string")),
    }
}

fn number(value: &Value) -> Option<f64> {
    match value {
        Value::Number(number) => number.as_f64(),
        Value::String(text) => text.trim().parse().ok(),
        _ => None,
    }
}

fn epoch_seconds() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |elapsed| elapsed.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_object_keys_request_ports() {
        let env = json!({"HF_TOKEN": "x", "-p 8000:8000": "1", "-p 8081:8081/udp": "1"});
        let (pairs, ports) = parse_env(Some(&env)).unwrap();
        assert_eq!(pairs.len(), 3);
        assert_eq!(ports, BTreeSet::from([(8000, "tcp"), (8081, "udp")]));
    }

    #[test]
    fn env_flag_strings_request_ports_and_variables() {
        let (pairs, ports) = parse_env(Some(&json!("-e A=1 -p 9000:9000"))).unwrap();
        assert_eq!(
            pairs,
            vec![
                ("A".to_owned(), "1".to_owned()),
                ("-p 9000:9000".to_owned(), "1".to_owned())
            ]
        );
        assert_eq!(ports, BTreeSet::from([(9000, "tcp")]));
    }

    #[test]
    fn a_create_without_an_image_is_refused() {
        let body = json!({"disk": 10}).as_object().cloned().unwrap();
        assert_eq!(parse_launch_spec(&body), Err("image is required".to_owned()));
    }

    #[test]
    fn runtype_defaults_to_args_when_args_are_given() {
        let body = json!({"image": "x", "args": ["serve"]})
            .as_object()
            .cloned()
            .unwrap();
        assert_eq!(parse_launch_spec(&body).unwrap().runtype, "args");
    }
}
