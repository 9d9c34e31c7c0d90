//! What a task keeps of its arguments and message: everything but the values of launch
//! environments (`config.env`), which may hold secrets. The reservation service keeps only their
//! names for the same reason; the action itself gets them whole.

use serde_json::Value;

/// What stands for a removed value.
const REDACTED: &str = "[redacted]";

/// Replaces the values of every `env` object in `value`, at any depth, keeping the names.
pub fn redact(value: &mut Value) {
    match value {
        Value::Object(object) => {
            for (key, inner) in object.iter_mut() {
                if key == "env"
                    && let Value::Object(variables) = inner
                {
                    for secret in variables.values_mut() {
                        *secret = Value::from(REDACTED);
                    }
                } else {
                    redact(inner);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact),
        _ => {}
    }
}

/// `text` (JSON) with its environments' values replaced; text that is not JSON is kept out.
pub fn redact_text(text: &str) -> String {
    match serde_json::from_str::<Value>(text) {
        Ok(mut value) => {
            redact(&mut value);
            value.to_string()
        }
        Err(_) => "{}".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn environment_values_go_and_their_names_stay_at_any_depth() {
        let mut message = json!({"parts": [{"data": {"action": "reserve_gpus",
            "arguments": {"count": 2, "config": {"image": "x", "env": {"HF_TOKEN": "hf_secret"}}}}}]});
        redact(&mut message);
        assert_eq!(
            message["parts"][0]["data"]["arguments"]["config"],
            json!({"image": "x", "env": {"HF_TOKEN": "[redacted]"}})
        );
        assert_eq!(message["parts"][0]["data"]["arguments"]["count"], 2);
        assert_eq!(redact_text("not json"), "{}");
    }
}
