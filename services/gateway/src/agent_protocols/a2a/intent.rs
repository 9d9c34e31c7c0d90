//! Which action an A2A message asks for. A2A leaves a message's meaning to the agent; this one
//! reads, in order: a data part `{"action": "reserve_gpus", "arguments": {…}}` (`skill` or `tool`
//! for `action`, `parameters` or `input` for `arguments`); a skill named in the message's
//! `metadata` (`skillId`) with a data part as its arguments; a text part that is such an object
//! as JSON, or that starts with a skill's id or alias (`list_gpu_instances {"gpu_model": "4090"}`).

use gpuproxy_proto::gpuproxy::agents::v1 as pb;
use serde_json::{Map, Value};

use crate::agent_actions::find;

/// An action and its arguments.
#[derive(Debug, Clone, PartialEq)]
pub struct Intent {
    /// The action's name or alias, as the message gave it.
    pub action: String,
    /// Its arguments: an object, or null.
    pub arguments: Value,
}

const ACTION_KEYS: [&str; 3] = ["action", "skill", "tool"];
const ARGUMENT_KEYS: [&str; 4] = ["arguments", "parameters", "input", "args"];

/// The action `message` asks for, if it names one.
pub fn intent(message: &Value, catalog: &[pb::Action]) -> Option<Intent> {
    let parts = message["parts"].as_array().map(Vec::as_slice).unwrap_or_default();
    let data_objects = || {
        parts
            .iter()
            .filter_map(|part| part.get("data").filter(|data| data.is_object()))
    };
    if let Some(intent) = data_objects().find_map(named_in) {
        return Some(intent);
    }
    let metadata = &message["metadata"];
    if let Some(action) = ["skillId", "skill", "action"]
        .iter()
        .find_map(|key| metadata.get(*key).and_then(Value::as_str))
    {
        return Some(Intent {
            action: action.to_owned(),
            arguments: data_objects().next().cloned().unwrap_or(Value::Null),
        });
    }
    parts
        .iter()
        .filter_map(|part| part.get("text").and_then(Value::as_str))
        .find_map(|text| from_text(text.trim(), catalog, data_objects().next()))
}

/// `{"action": …, "arguments": {…}}`.
fn named_in(object: &Value) -> Option<Intent> {
    let action = ACTION_KEYS
        .iter()
        .find_map(|key| object.get(*key).and_then(Value::as_str))?;
    let arguments = ARGUMENT_KEYS
        .iter()
        .find_map(|key| {
            object
                .get(*key)
                .filter(|value| value.is_object() || value.is_null())
        })
        .cloned()
        .unwrap_or_else(|| Value::Object(Map::new()));
    Some(Intent {
        action: action.to_owned(),
        arguments,
    })
}

/// A text that is an intent as JSON, or starts with an action's name or alias.
fn from_text(text: &str, catalog: &[pb::Action], data: Option<&Value>) -> Option<Intent> {
    if text.starts_with('{') {
        return serde_json::from_str::<Value>(text)
            .ok()
            .as_ref()
            .and_then(named_in);
    }
    let (first, rest) = text.split_once(char::is_whitespace).unwrap_or((text, ""));
    find(catalog, first)?;
    let rest = rest.trim();
    let arguments = if rest.starts_with('{') {
        serde_json::from_str::<Value>(rest)
            .ok()
            .filter(Value::is_object)?
    } else {
        data.cloned().unwrap_or(Value::Null)
    };
    Some(Intent {
        action: first.to_owned(),
        arguments,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn catalog() -> Vec<pb::Action> {
        vec![pb::Action {
            name: "list_gpu_instances".to_owned(),
            aliases: vec!["gpu.list".to_owned()],
            ..pb::Action::default()
        }]
    }

    #[test]
    fn a_data_part_names_the_action_and_its_arguments() {
        let message = json!({"parts": [{"text": "please"}, {"data": {"skill": "gpu.list", "parameters": {"gpu_model": "4090"}}}]});
        assert_eq!(
            intent(&message, &catalog()),
            Some(Intent {
                action: "gpu.list".to_owned(),
                arguments: json!({"gpu_model": "4090"})
            })
        );
    }

    #[test]
    fn metadata_names_the_skill_and_a_data_part_is_its_arguments() {
        let message = json!({"metadata": {"skillId": "list_gpu_instances"}, "parts": [{"data": {"gpu_model": "A100"}}]});
        assert_eq!(
            intent(&message, &catalog()).map(|intent| intent.arguments),
            Some(json!({"gpu_model": "A100"}))
        );
    }

    #[test]
    fn a_text_starting_with_an_action_is_that_action() {
        let message = json!({"parts": [{"kind": "text", "text": " list_gpu_instances {\"page\": 2}"}]});
        assert_eq!(
            intent(&message, &catalog()),
            Some(Intent {
                action: "list_gpu_instances".to_owned(),
                arguments: json!({"page": 2})
            })
        );
        let json_text = json!({"parts": [{"text": "{\"action\": \"gpu.list\"}"}]});
        assert_eq!(
            intent(&json_text, &catalog()).map(|intent| intent.action),
            Some("gpu.list".to_owned())
        );
    }

    #[test]
    fn prose_names_nothing() {
        let message = json!({"parts": [{"text": "find me a cheap GPU"}]});
        assert_eq!(intent(&message, &catalog()), None);
        assert_eq!(intent(&json!({}), &catalog()), None);
    }
}
