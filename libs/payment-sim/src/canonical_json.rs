//! Compact JSON with object keys sorted recursively: the message NOWPayments signs (spec B4).
//!
//! Written out by hand rather than relying on `serde_json`'s map order, which becomes insertion
//! order as soon as any crate in the build enables its `preserve_order` feature.

use serde_json::Value;

/// Returns `value` serialised compactly with every object's keys in ascending order.
pub(crate) fn sorted_compact(value: &Value) -> String {
    let mut out = String::new();
    write_sorted(value, &mut out);
    out
}

fn write_sorted(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by_key(|(key, _)| *key);
            out.push('{');
            for (index, (key, item)) in entries.into_iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                write_sorted(item, out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                write_sorted(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_keys_are_sorted_and_nothing_is_spaced() {
        let value: Value =
            serde_json::from_str(r#"{"b": {"d": 1, "c": [{"z": "x y", "a": null}]}, "a": 2.5}"#).unwrap();
        assert_eq!(
            sorted_compact(&value),
            r#"{"a":2.5,"b":{"c":[{"a":null,"z":"x y"}],"d":1}}"#
        );
    }
}
