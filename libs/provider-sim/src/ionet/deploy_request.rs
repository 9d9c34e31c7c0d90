//! The deploy request body: validated FastAPI-style, nested or flat (spec §4, §10.1).

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::ionet::catalog::MAX_GPUS_PER_CONTAINER;
use crate::ionet::errors::IonetError;
use crate::ionet::pool::ContainerSpec;
use crate::ionet::validation::{Issue, Issues};

/// Largest `duration_hours` and `replica_count` accepted; io.net documents no upper bound.
const MAX_COUNT: i64 = 100_000;

/// A validated deploy request.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct DeployRequest {
    pub(crate) name: String,
    pub(crate) duration_hours: u32,
    pub(crate) gpus_per_container: u32,
    pub(crate) hardware_id: i64,
    pub(crate) location_id: Option<i64>,
    pub(crate) node_pool_id: Option<String>,
    pub(crate) replica_count: u32,
    pub(crate) container: ContainerSpec,
}

/// Reads the request; container and registry fields are looked up inside their wrappers first and
/// at the top level second, so both the documented nested body and the newer flat body work.
pub(crate) fn parse_request(body: &Map<String, Value>) -> Result<DeployRequest, IonetError> {
    let mut issues = Issues::default();
    let container = Section::new(body, "container_config", &mut issues);
    let registry = Section::new(body, "registry_config", &mut issues);
    let name = match body.get("resource_private_name") {
        Some(Value::String(name)) if !name.trim().is_empty() => Some(name.clone()),
        Some(Value::String(_)) => {
            issues.push(Issue::invalid(
                &["body", "resource_private_name"],
                "string_too_short",
                "String should have at least 1 character",
            ));
            None
        }
        None | Some(Value::Null) => {
            issues.push(Issue::missing(&["body", "resource_private_name"]));
            None
        }
        Some(_) => {
            issues.push(Issue::invalid(
                &["body", "resource_private_name"],
                "string_type",
                "Input should be a valid string",
            ));
            None
        }
    };
    let duration_hours = issues.int(
        body.get("duration_hours"),
        &["body", "duration_hours"],
        1,
        MAX_COUNT,
    );
    let gpus = issues.int(
        body.get("gpus_per_container"),
        &["body", "gpus_per_container"],
        1,
        MAX_GPUS_PER_CONTAINER,
    );
    let hardware_id = issues.int(body.get("hardware_id"), &["body", "hardware_id"], 1, i64::MAX);
    let node_pool_id = body
        .get("node_pool_id")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let location_id = if node_pool_id.is_some() {
        None
    } else {
        location_id(body, &mut issues)
    };
    let replica_count = issues.int(
        container.get("replica_count"),
        &container.loc("replica_count"),
        1,
        MAX_COUNT,
    );
    let traffic_port = issues.int(
        container.get("traffic_port"),
        &container.loc("traffic_port"),
        1,
        65_535,
    );
    let image_url = match registry.get("image_url") {
        Some(Value::String(url)) if !url.trim().is_empty() => Some(url.clone()),
        None | Some(Value::Null) => {
            issues.push(Issue::missing(&registry.loc("image_url")));
            None
        }
        Some(_) => {
            issues.push(Issue::invalid(
                &registry.loc("image_url"),
                "string_type",
                "Input should be a valid string",
            ));
            None
        }
    };
    let entrypoint = string_list(&container, "entrypoint", &mut issues);
    let args = string_list(&container, "args", &mut issues);
    let command = container
        .get("command")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let env_variables = string_map(&container, "env_variables", &mut issues);
    let secrets = string_map(&container, "secret_env_variables", &mut issues);
    issues.finish()?;
    let (
        Some(name),
        Some(duration_hours),
        Some(gpus),
        Some(hardware_id),
        Some(replica_count),
        Some(traffic_port),
        Some(image_url),
    ) = (
        name,
        duration_hours,
        gpus,
        hardware_id,
        replica_count,
        traffic_port,
        image_url,
    )
    else {
        // `finish` has failed whenever a required value is missing.
        return Err(IonetError::internal());
    };
    let as_u32 = |value: i64| u32::try_from(value).unwrap_or(u32::MAX);
    Ok(DeployRequest {
        name,
        duration_hours: as_u32(duration_hours),
        gpus_per_container: as_u32(gpus),
        hardware_id,
        location_id,
        node_pool_id,
        replica_count: as_u32(replica_count),
        container: ContainerSpec {
            image_url,
            traffic_port: u16::try_from(traffic_port).unwrap_or(u16::MAX),
            entrypoint,
            args,
            command,
            env_variables,
            secret_env_keys: secrets
                .map(|secrets| secrets.into_keys().collect())
                .unwrap_or_default(),
        },
    })
}

/// Returns the single location id; io.net supports exactly one location per deployment.
fn location_id(body: &Map<String, Value>, issues: &mut Issues) -> Option<i64> {
    const LOC: [&str; 2] = ["body", "location_ids"];
    match body.get("location_ids") {
        None | Some(Value::Null) => {
            issues.push(Issue::missing(&LOC));
            None
        }
        Some(Value::Array(ids)) if ids.len() == 1 => {
            issues.int(ids.first(), &["body", "location_ids", "0"], 1, i64::MAX)
        }
        Some(Value::Array(_)) => {
            issues.push(Issue::invalid(
                &LOC,
                "value_error",
                "Value error, exactly one location is supported",
            ));
            None
        }
        Some(_) => {
            issues.push(Issue::invalid(&LOC, "list_type", "Input should be a valid list"));
            None
        }
    }
}

/// A wrapper object of the nested body (`container_config`, `registry_config`), if present.
struct Section<'a> {
    body: &'a Map<String, Value>,
    wrapper: Option<(&'static str, &'a Map<String, Value>)>,
}

impl<'a> Section<'a> {
    fn new(body: &'a Map<String, Value>, name: &'static str, issues: &mut Issues) -> Self {
        let wrapper = match body.get(name) {
            Some(Value::Object(fields)) => Some((name, fields)),
            None | Some(Value::Null) => None,
            Some(_) => {
                issues.push(Issue::invalid(
                    &["body", name],
                    "model_type",
                    "Input should be a valid dictionary or object",
                ));
                None
            }
        };
        Self { body, wrapper }
    }

    fn get(&self, key: &str) -> Option<&'a Value> {
        let nested = self
            .wrapper
            .and_then(|(_, fields)| fields.get(key))
            .filter(|value| !value.is_null());
        nested.or_else(|| self.body.get(key))
    }

    /// Returns where a field of this section is reported: inside the wrapper when one was sent.
    fn loc(&self, key: &'static str) -> Vec<&'static str> {
        match self.wrapper {
            Some((name, _)) => vec!["body", name, key],
            None => vec!["body", key],
        }
    }
}

fn string_list(section: &Section<'_>, key: &'static str, issues: &mut Issues) -> Option<Vec<String>> {
    match section.get(key) {
        None | Some(Value::Null) => None,
        Some(Value::Array(items)) => {
            let strings: Option<Vec<String>> = items
                .iter()
                .map(|item| item.as_str().map(str::to_owned))
                .collect();
            if strings.is_none() {
                issues.push(Issue::invalid(
                    &section.loc(key),
                    "string_type",
                    "Input should be a valid string",
                ));
            }
            strings
        }
        Some(_) => {
            issues.push(Issue::invalid(
                &section.loc(key),
                "list_type",
                "Input should be a valid list",
            ));
            None
        }
    }
}

fn string_map(
    section: &Section<'_>,
    key: &'static str,
    issues: &mut Issues,
) -> Option<BTreeMap<String, String>> {
    match section.get(key) {
        None | Some(Value::Null) => None,
        Some(Value::Object(entries)) => {
            let strings: Option<BTreeMap<String, String>> = entries
                .iter()
                .map(|(name, value)| Some((name.clone(), value.as_str()?.to_owned())))
                .collect();
            if strings.is_none() {
                issues.push(Issue::invalid(
                    &section.loc(key),
                    "string_type",
                    "Input should be a valid string",
                ));
            }
            strings
        }
        Some(_) => {
            issues.push(Issue::invalid(
                &section.loc(key),
                "dict_type",
                "Input should be a valid dictionary",
            ));
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn body(value: Value) -> Map<String, Value> {
        value.as_object().cloned().unwrap()
    }

    #[test]
    fn nested_and_flat_bodies_parse_to_the_same_request() {
        let nested = body(json!({
            "resource_private_name": "a", "duration_hours": 2, "gpus_per_container": 1, "hardware_id": 203,
            "location_ids": [9],
            "container_config": {"replica_count": 1, "traffic_port": 8000, "env_variables": {"A": "1"}},
            "registry_config": {"image_url": "img"},
        }));
        let flat = body(json!({
            "resource_private_name": "a", "duration_hours": 2, "gpus_per_container": 1, "hardware_id": 203,
            "location_ids": [9], "replica_count": 1, "traffic_port": 8000, "env_variables": {"A": "1"},
            "image_url": "img",
        }));
        assert_eq!(parse_request(&nested).unwrap(), parse_request(&flat).unwrap());
    }

    #[test]
    fn secret_values_are_dropped_and_only_keys_kept() {
        let request = parse_request(&body(json!({
            "resource_private_name": "a", "duration_hours": 1, "gpus_per_container": 1, "hardware_id": 203,
            "location_ids": [9], "replica_count": 1, "traffic_port": 8000, "image_url": "img",
            "secret_env_variables": {"HF_TOKEN": "secret"},
        })))
        .unwrap();
        assert_eq!(request.container.secret_env_keys, vec!["HF_TOKEN".to_owned()]);
    }

    #[test]
    fn an_empty_body_reports_every_required_field() {
        assert!(parse_request(&Map::new()).is_err());
    }
}
