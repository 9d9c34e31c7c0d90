//! Arguments given the types their action's input schema asks for, at any depth: the native FIPA
//! and KQML syntax (and agents that quote every value) send `2.5` or `true` as text, and A2A's
//! protobuf JSON sends every number as a double (`50` arrives as `50.0`, also inside
//! `config`). What does not read as the wanted type is left for the schema to refuse.

use serde_json::Value;

/// Rewrites `value` to the types `schema` asks for; `root` holds the schema's `$defs`.
pub fn coerce(value: &mut Value, schema: &Value, root: &Value) {
    let schema = resolve(schema, root);
    match value {
        Value::Object(fields) => {
            for (field, inner) in fields.iter_mut() {
                if let Some(property) = property(schema, root, field) {
                    coerce(inner, property, root);
                }
            }
        }
        Value::Array(items) => {
            if let Some(item) = alternatives(schema, root).find_map(|schema| schema.get("items")) {
                items.iter_mut().for_each(|inner| coerce(inner, item, root));
            }
        }
        _ => coerce_scalar(value, schema, root),
    }
}

fn coerce_scalar(value: &mut Value, schema: &Value, root: &Value) {
    let wants = |kind: &str| {
        alternatives(schema, root).any(|schema| {
            let wanted = &schema["type"];
            wanted == kind
                || wanted
                    .as_array()
                    .is_some_and(|kinds| kinds.iter().any(|k| k == kind))
        })
    };
    if let Some(number) = value.as_f64().filter(|_| value.is_f64() && wants("integer"))
        && number.fract() == 0.0
        && number.abs() < 9.0e15
    {
        #[expect(clippy::cast_possible_truncation, reason = "whole and below 2^53")]
        let whole = number as i64;
        *value = Value::from(whole);
        return;
    }
    let Value::String(text) = value else { return };
    let typed = if wants("integer") {
        text.trim().parse::<i64>().ok().map(Value::from)
    } else if wants("number") {
        text.trim()
            .parse::<f64>()
            .ok()
            .filter(|number| number.is_finite())
            .map(Value::from)
    } else if wants("boolean") {
        text.trim().parse::<bool>().ok().map(Value::from)
    } else {
        None
    };
    if let Some(typed) = typed {
        *value = typed;
    }
}

/// The schema of `field`, looking into `anyOf`/`oneOf`/`allOf` (how optional fields are drawn).
fn property<'a>(schema: &'a Value, root: &'a Value, field: &str) -> Option<&'a Value> {
    alternatives(schema, root).find_map(|schema| schema["properties"].get(field))
}

/// `schema` and the schemas of its `anyOf`/`oneOf`/`allOf`, references followed.
fn alternatives<'a>(schema: &'a Value, root: &'a Value) -> impl Iterator<Item = &'a Value> {
    let nested = ["anyOf", "oneOf", "allOf"]
        .into_iter()
        .filter_map(move |key| schema.get(key).and_then(Value::as_array))
        .flatten()
        .map(move |inner| resolve(inner, root));
    std::iter::once(schema).chain(nested)
}

/// Follows a local `$ref` (`#/$defs/Name`).
fn resolve<'a>(schema: &'a Value, root: &'a Value) -> &'a Value {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(reference) => reference
            .strip_prefix('#')
            .and_then(|pointer| root.pointer(pointer))
            .unwrap_or(schema),
        None => schema,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn schema() -> Value {
        json!({
            "type": "object",
            "properties": {
                "count": {"type": "integer"},
                "max_price": {"type": ["number", "null"]},
                "config": {"anyOf": [{"$ref": "#/$defs/Launch"}, {"type": "null"}]},
            },
            "$defs": {"Launch": {"type": "object", "properties": {
                "disk_gb": {"type": ["integer", "null"]},
                "ports": {"type": "array", "items": {"type": "integer"}},
                "image": {"type": "string"},
            }}},
        })
    }

    #[test]
    fn doubles_and_texts_become_what_the_schema_asks_at_any_depth() {
        let schema = schema();
        let mut arguments = json!({"count": 2.0, "max_price": "2.5",
            "config": {"disk_gb": 50.0, "ports": [8000.0, "8001"], "image": "2.0"}});
        coerce(&mut arguments, &schema, &schema);
        assert_eq!(
            arguments,
            json!({"count": 2, "max_price": 2.5, "config": {"disk_gb": 50, "ports": [8000, 8001], "image": "2.0"}})
        );
    }

    #[test]
    fn what_does_not_read_as_the_type_is_left_for_the_schema_to_refuse() {
        let schema = schema();
        let mut arguments = json!({"count": 2.5, "config": {"disk_gb": "lots"}, "unknown": "1"});
        coerce(&mut arguments, &schema, &schema);
        assert_eq!(
            arguments,
            json!({"count": 2.5, "config": {"disk_gb": "lots"}, "unknown": "1"})
        );
    }
}
