//! OpenAI-shaped inference answers: the reply echoes the prompt, whole or as an SSE stream.

use std::convert::Infallible;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Json;
use axum::response::sse::{Event, Sse};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http::{HeaderMap, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

/// Model name reported when the request names none.
const DEFAULT_MODEL: &str = "sim-model";

/// Answers `POST /v1/chat/completions` with the last user message as the assistant's reply.
pub(crate) async fn chat_completions(headers: HeaderMap, body: Bytes) -> Response {
    let Some(request) = parse_request(&body) else {
        return invalid_request();
    };
    let text = last_user_message(&request);
    let reply = Reply::new(&request, "chatcmpl");
    if wants_stream(&request) {
        let mut chunks = vec![reply.chat_chunk(json!({"role": "assistant", "content": ""}), Value::Null)];
        chunks.extend(pieces(&text).map(|piece| reply.chat_chunk(json!({"content": piece}), Value::Null)));
        chunks.push(reply.chat_chunk(json!({}), json!("stop")));
        return event_stream(chunks, chunk_delay(&headers));
    }
    Json(json!({
        "id": reply.id,
        "object": "chat.completion",
        "created": reply.created,
        "model": reply.model,
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": text},
            "finish_reason": "stop",
        }],
        "usage": usage(&text),
    }))
    .into_response()
}

/// Answers `POST /v1/completions` with the prompt as the completion.
pub(crate) async fn completions(headers: HeaderMap, body: Bytes) -> Response {
    let Some(request) = parse_request(&body) else {
        return invalid_request();
    };
    let text = prompt(&request);
    let reply = Reply::new(&request, "cmpl");
    if wants_stream(&request) {
        let mut chunks: Vec<Value> = pieces(&text)
            .map(|piece| reply.text_chunk(piece, Value::Null))
            .collect();
        chunks.push(reply.text_chunk("", json!("stop")));
        return event_stream(chunks, chunk_delay(&headers));
    }
    Json(json!({
        "id": reply.id,
        "object": "text_completion",
        "created": reply.created,
        "model": reply.model,
        "choices": [{"index": 0, "text": text, "logprobs": null, "finish_reason": "stop"}],
        "usage": usage(&text),
    }))
    .into_response()
}

/// The fields every chunk of one reply shares.
struct Reply {
    id: String,
    created: u64,
    model: String,
}

impl Reply {
    fn new(request: &Value, prefix: &str) -> Self {
        let created = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_secs());
        let model = request
            .get("model")
            .and_then(Value::as_str)
            .unwrap_or(DEFAULT_MODEL)
            .to_owned();
        Self {
            id: format!("{prefix}-{}", Uuid::now_v7().simple()),
            created,
            model,
        }
    }

    fn chat_chunk(&self, delta: Value, finish_reason: Value) -> Value {
        json!({
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
        })
    }

    fn text_chunk(&self, text: &str, finish_reason: Value) -> Value {
        json!({
            "id": self.id,
            "object": "text_completion",
            "created": self.created,
            "model": self.model,
            "choices": [{"index": 0, "text": text, "logprobs": null, "finish_reason": finish_reason}],
        })
    }
}

fn parse_request(body: &[u8]) -> Option<Value> {
    serde_json::from_slice::<Value>(body)
        .ok()
        .filter(Value::is_object)
}

fn invalid_request() -> Response {
    let error =
        json!({"error": {"message": "request body must be a JSON object", "type": "invalid_request_error"}});
    (StatusCode::BAD_REQUEST, Json(error)).into_response()
}

fn wants_stream(request: &Value) -> bool {
    request.get("stream").and_then(Value::as_bool).unwrap_or(false)
}

/// Returns the text of the last `user` message; content may be a string or a list of text parts.
fn last_user_message(request: &Value) -> String {
    let messages = request
        .get("messages")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let Some(message) = messages
        .iter()
        .rev()
        .find(|message| message.get("role") == Some(&json!("user")))
    else {
        return String::new();
    };
    match message.get("content") {
        Some(Value::String(text)) => text.clone(),
        Some(Value::Array(parts)) => parts
            .iter()
            .filter_map(|part| part.get("text")?.as_str())
            .collect(),
        _ => String::new(),
    }
}

/// Returns the prompt; a list of prompts is joined with newlines.
fn prompt(request: &Value) -> String {
    match request.get("prompt") {
        Some(Value::String(text)) => text.clone(),
        Some(Value::Array(prompts)) => prompts
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    }
}

/// Splits text into word-sized pieces that concatenate back to the text.
fn pieces(text: &str) -> impl Iterator<Item = &str> {
    text.split_inclusive(' ')
}

fn usage(text: &str) -> Value {
    let tokens = text.split_whitespace().count();
    json!({"prompt_tokens": tokens, "completion_tokens": tokens, "total_tokens": tokens * 2})
}

fn chunk_delay(headers: &HeaderMap) -> Duration {
    headers
        .get(super::CHUNK_DELAY_HEADER)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok())
        .map_or(Duration::ZERO, |millis| Duration::from_millis(millis.min(10_000)))
}

/// Returns the chunks as `data:` events followed by `data: [DONE]`, as OpenAI streams end; each
/// event after the first waits `delay`.
fn event_stream(chunks: Vec<Value>, delay: Duration) -> Response {
    let events = chunks
        .into_iter()
        .map(|chunk| Event::default().data(chunk.to_string()))
        .chain(std::iter::once(Event::default().data("[DONE]")))
        .enumerate()
        .map(|(index, event)| (index, Ok::<Event, Infallible>(event)));
    let paced = futures::StreamExt::then(futures::stream::iter(events), move |(index, event)| async move {
        if index > 0 && !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        event
    });
    Sse::new(paced).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_user_message_is_found_in_either_content_form() {
        let request = json!({"messages": [
            {"role": "user", "content": "first"},
            {"role": "assistant", "content": "ignored"},
            {"role": "user", "content": [{"type": "text", "text": "sec"}, {"type": "text", "text": "ond"}]},
        ]});
        assert_eq!(last_user_message(&request), "second");
    }

    #[test]
    fn pieces_concatenate_back_to_the_text() {
        let text = "hello there general kenobi";
        assert_eq!(pieces(text).collect::<String>(), text);
        assert_eq!(pieces(text).count(), 4);
    }
}
