//! A2A's JSON in the two dialects its clients speak: 1.0 (protobuf JSON: `TASK_STATE_WORKING`,
//! `ROLE_AGENT`, parts `{"text"}`/`{"data"}`, results wrapped as `{"task": …}`) and 0.3 (`kind`
//! on every object, `working`, `agent`, results bare, status updates with `final`). Tasks are
//! the agents service's; this file only draws them.

use chrono::{DateTime, SecondsFormat, Utc};
use gpuproxy_proto::gpuproxy::agents::v1 as pb;
use serde_json::{Map, Value, json};

/// Which revision of A2A a request speaks, and so its answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// A2A 1.0: `SendMessage`, `GetTask`, …
    V1,
    /// A2A 0.3: `message/send`, `tasks/get`, …
    V03,
}

/// The task states as the agents service names them and as each dialect does.
const STATES: [(&str, &str, &str); 4] = [
    ("working", "TASK_STATE_WORKING", "working"),
    ("completed", "TASK_STATE_COMPLETED", "completed"),
    ("failed", "TASK_STATE_FAILED", "failed"),
    ("canceled", "TASK_STATE_CANCELED", "canceled"),
];

/// The agents service's state for a state of either dialect; `None` for one it never has
/// (`TASK_STATE_SUBMITTED`, …), which filters to nothing.
pub fn parse_state(text: &str) -> Option<&'static str> {
    STATES
        .iter()
        .find(|(_, v1, v03)| *v1 == text || *v03 == text)
        .map(|(ours, _, _)| *ours)
}

/// Whether a task in `state` has ended.
pub fn is_final(state: &str) -> bool {
    state != "working"
}

impl Dialect {
    fn state(self, ours: &str) -> &'static str {
        let (_, v1, v03) = STATES
            .iter()
            .find(|(name, _, _)| *name == ours)
            .copied()
            .unwrap_or(STATES[2]);
        match self {
            Dialect::V1 => v1,
            Dialect::V03 => v03,
        }
    }

    /// A text part.
    pub fn text_part(self, text: &str) -> Value {
        match self {
            Dialect::V1 => json!({ "text": text }),
            Dialect::V03 => json!({ "kind": "text", "text": text }),
        }
    }

    /// A structured data part.
    pub fn data_part(self, data: Value) -> Value {
        match self {
            Dialect::V1 => json!({ "data": data }),
            Dialect::V03 => json!({ "kind": "data", "data": data }),
        }
    }

    /// A message from this agent.
    pub fn agent_message(
        self,
        message_id: &str,
        task: Option<&pb::Task>,
        context_id: &str,
        parts: Vec<Value>,
    ) -> Value {
        let mut message = json!({
            "messageId": message_id,
            "contextId": context_id,
            "role": match self { Dialect::V1 => "ROLE_AGENT", Dialect::V03 => "agent" },
            "parts": parts,
        });
        if let Some(task) = task {
            message["taskId"] = json!(task.id);
        }
        if self == Dialect::V03 {
            message["kind"] = json!("message");
        }
        message
    }

    /// A message a client sent, as stored (1.0's shape), in this dialect.
    fn user_message(self, stored: &Value) -> Value {
        let mut message = stored.clone();
        if self == Dialect::V03 {
            message["kind"] = json!("message");
            message["role"] = json!("user");
            if let Some(parts) = message["parts"].as_array_mut() {
                for part in parts {
                    *part = self.part_of(part);
                }
            }
        }
        message
    }

    /// A stored (1.0) part in this dialect.
    fn part_of(self, part: &Value) -> Value {
        if self == Dialect::V1 {
            return part.clone();
        }
        if let Some(text) = part.get("text").and_then(Value::as_str) {
            return self.text_part(text);
        }
        if let Some(data) = part.get("data") {
            return self.data_part(data.clone());
        }
        let file = match (part.get("url"), part.get("raw")) {
            (Some(url), _) => json!({ "uri": url }),
            (None, Some(raw)) => json!({ "bytes": raw }),
            (None, None) => json!({}),
        };
        json!({ "kind": "file", "file": file })
    }

    /// The task's status: its state, when it last changed, and what the agent says about it.
    fn status(self, task: &pb::Task) -> Value {
        let mut parts = Vec::new();
        match task.state.as_str() {
            "working" => {
                if let Some(progress) = &task.progress {
                    if !progress.message.is_empty() {
                        parts.push(self.text_part(&progress.message));
                    }
                    parts.push(self.data_part(json!({
                        "progress": progress.progress,
                        "total": progress.total,
                    })));
                } else {
                    parts.push(self.text_part(&format!("running {}", task.action)));
                }
            }
            "completed" => parts.push(self.text_part(&format!("{} completed", task.action))),
            state => {
                let (code, message) = task
                    .error
                    .as_ref()
                    .map(|error| (error.code.as_str(), error.message.as_str()))
                    .unwrap_or(("INTERNAL", state));
                parts.push(self.text_part(&format!("{code}: {message}")));
                parts.push(self.data_part(json!({ "error": { "code": code, "message": message } })));
            }
        }
        let message_id = format!("{}-{}", task.id, task.updated_at_ms);
        json!({
            "state": self.state(&task.state),
            "message": self.agent_message(&message_id, Some(task), &task.context_id, parts),
            "timestamp": timestamp(task.updated_at_ms),
        })
    }

    /// The task's result as an artifact, once it completed.
    fn artifact(self, task: &pb::Task) -> Option<Value> {
        if task.state != "completed" {
            return None;
        }
        let result = serde_json::from_str::<Value>(&task.result).unwrap_or(Value::Null);
        Some(json!({
            "artifactId": format!("{}-result", task.id),
            "name": format!("{} result", task.action),
            "parts": [self.data_part(result)],
        }))
    }

    /// A task, its history cut to the last `history_length` messages (`None`: all).
    pub fn task(self, task: &pb::Task, history_length: Option<usize>) -> Value {
        let mut answer = Map::new();
        answer.insert("id".to_owned(), json!(task.id));
        answer.insert("contextId".to_owned(), json!(task.context_id));
        answer.insert("status".to_owned(), self.status(task));
        if let Some(artifact) = self.artifact(task) {
            answer.insert("artifacts".to_owned(), json!([artifact]));
        }
        let history: Vec<Value> = serde_json::from_str::<Value>(&task.request)
            .ok()
            .filter(Value::is_object)
            .map(|message| self.user_message(&message))
            .into_iter()
            .collect();
        let keep = history_length.unwrap_or(history.len()).min(history.len());
        if keep > 0 {
            answer.insert("history".to_owned(), json!(history[history.len() - keep..]));
        }
        answer.insert(
            "metadata".to_owned(),
            json!({
                "action": task.action,
                "arguments": serde_json::from_str::<Value>(&task.arguments).unwrap_or(Value::Null),
            }),
        );
        if self == Dialect::V03 {
            answer.insert("kind".to_owned(), json!("task"));
        }
        Value::Object(answer)
    }

    /// `SendMessage`'s result, or a stream's event, carrying a task.
    pub fn task_result(self, task: Value) -> Value {
        match self {
            Dialect::V1 => json!({ "task": task }),
            Dialect::V03 => task,
        }
    }

    /// `SendMessage`'s result, or a stream's event, carrying a message.
    pub fn message_result(self, message: Value) -> Value {
        match self {
            Dialect::V1 => json!({ "message": message }),
            Dialect::V03 => message,
        }
    }

    /// A stream's event: the task's status changed.
    pub fn status_update(self, task: &pb::Task) -> Value {
        let update = json!({
            "taskId": task.id,
            "contextId": task.context_id,
            "status": self.status(task),
        });
        match self {
            Dialect::V1 => json!({ "statusUpdate": update }),
            Dialect::V03 => {
                let mut update = update;
                update["kind"] = json!("status-update");
                update["final"] = json!(is_final(&task.state));
                update
            }
        }
    }

    /// A stream's event: the task's result, once it completed.
    pub fn artifact_update(self, task: &pb::Task) -> Option<Value> {
        let update = json!({
            "taskId": task.id,
            "contextId": task.context_id,
            "artifact": self.artifact(task)?,
            "lastChunk": true,
        });
        Some(match self {
            Dialect::V1 => json!({ "artifactUpdate": update }),
            Dialect::V03 => {
                let mut update = update;
                update["kind"] = json!("artifact-update");
                update
            }
        })
    }
}

/// A message as a client sent it, in 1.0's shape (how tasks keep it): 0.3's `kind`s dropped, its
/// file parts as `url`/`raw`, its role `ROLE_USER`.
pub fn stored_message(message: &Value) -> Value {
    let mut stored = message.clone();
    if let Some(object) = stored.as_object_mut() {
        object.remove("kind");
        object.insert("role".to_owned(), json!("ROLE_USER"));
    }
    if let Some(parts) = stored["parts"].as_array_mut() {
        for part in parts {
            let Some(object) = part.as_object_mut() else {
                continue;
            };
            object.remove("kind");
            if let Some(file) = object.remove("file") {
                if let Some(uri) = file.get("uri") {
                    object.insert("url".to_owned(), uri.clone());
                }
                if let Some(bytes) = file.get("bytes") {
                    object.insert("raw".to_owned(), bytes.clone());
                }
            }
        }
    }
    stored
}

fn timestamp(unix_ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(unix_ms)
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::Millis, true)
}
