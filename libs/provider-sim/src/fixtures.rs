//! The JSON examples of the wire specs, without their `//` annotations, and a shape comparison so
//! tests on both sides of the wire can check that real payloads look like the documented ones.

use serde_json::Value;

/// Declares the embedded fixtures by name; the file is `fixtures/<name>.json`.
macro_rules! fixture_table {
    ($($name:literal),* $(,)?) => {
        const FIXTURES: &[(&str, &str)] = &[
            $(($name, include_str!(concat!("../fixtures/", $name, ".json")))),*
        ];
    };
}

fixture_table![
    "vastai/search_request",
    "vastai/offer",
    "vastai/offers",
    "vastai/create_request",
    "vastai/create_response",
    "vastai/instance",
    "vastai/instance_show",
    "vastai/instances_list",
    "vastai/manage_response",
    "vastai/destroy_response",
    "vastai/error_auth",
    "vastai/error_invalid_body",
    "vastai/error_invalid_args",
    "vastai/error_no_such_ask",
    "vastai/error_no_longer_available",
    "vastai/error_instance_not_found",
    "vastai/error_no_such_instance",
    "ionet/hardware",
    "ionet/available_replicas",
    "ionet/price",
    "ionet/deploy_request",
    "ionet/deploy_response",
    "ionet/deployment",
    "ionet/deployments",
    "ionet/containers",
    "ionet/validation_error",
    "ionet/destroy_response",
];

/// Returns a spec example by name, such as `"vastai/offer"` or `"ionet/deploy_request"`, or `None`
/// for an unknown name. Every name of `libs/provider-sim/fixtures/` without `.json` is known.
pub fn fixture(name: &str) -> Option<Value> {
    let (_, text) = FIXTURES.iter().find(|(fixture_name, _)| *fixture_name == name)?;
    serde_json::from_str(text).ok()
}

/// Returns one line per key path of `expected` that `actual` lacks or holds with another JSON type.
///
/// Integers and floats are the same type; `null` in `expected` matches anything; arrays are compared
/// by their first elements, and an empty array on either side has nothing to compare. Keys only
/// `actual` has are fine, as clients must ignore unknown keys.
pub fn shape_mismatches(expected: &Value, actual: &Value) -> Vec<String> {
    let mut mismatches = Vec::new();
    compare("", expected, actual, &mut mismatches);
    mismatches
}

fn compare(path: &str, expected: &Value, actual: &Value, mismatches: &mut Vec<String>) {
    match (expected, actual) {
        (Value::Null, _) => {}
        (Value::Object(expected), Value::Object(actual)) => {
            for (key, expected_value) in expected {
                let key_path = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                match actual.get(key) {
                    Some(actual_value) => compare(&key_path, expected_value, actual_value, mismatches),
                    None => mismatches.push(format!("{key_path}: missing")),
                }
            }
        }
        (Value::Array(expected), Value::Array(actual)) => {
            if let (Some(expected), Some(actual)) = (expected.first(), actual.first()) {
                compare(&format!("{path}[0]"), expected, actual, mismatches);
            }
        }
        _ if type_name(expected) == type_name(actual) => {}
        _ => {
            let path = if path.is_empty() { "(root)" } else { path };
            mismatches.push(format!(
                "{path}: expected {}, found {}",
                type_name(expected),
                type_name(actual)
            ));
        }
    }
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn every_fixture_parses() {
        for (name, _) in FIXTURES {
            assert!(fixture(name).is_some(), "{name} is not valid JSON");
        }
        assert!(fixture("vastai/nothing").is_none());
    }

    #[test]
    fn integers_and_floats_are_the_same_type() {
        assert!(shape_mismatches(&json!({"a": 1}), &json!({"a": 1.5})).is_empty());
    }

    #[test]
    fn null_in_the_fixture_matches_anything() {
        assert!(shape_mismatches(&json!({"a": null}), &json!({"a": [1]})).is_empty());
    }

    #[test]
    fn missing_keys_and_wrong_types_are_reported_with_their_path() {
        let expected = json!({"offers": [{"id": 1, "gpu_name": "x", "search": {"totalHour": 1.0}}]});
        let actual = json!({"offers": [{"id": "1", "search": {}}, {"ignored": true}]});
        let mut mismatches = shape_mismatches(&expected, &actual);
        mismatches.sort();
        assert_eq!(
            mismatches,
            vec![
                "offers[0].gpu_name: missing",
                "offers[0].id: expected number, found string",
                "offers[0].search.totalHour: missing",
            ]
        );
    }

    #[test]
    fn a_different_root_type_is_reported() {
        assert_eq!(
            shape_mismatches(&json!({}), &json!([])),
            vec!["(root): expected object, found array"]
        );
    }
}
