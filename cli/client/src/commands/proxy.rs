//! `proxy`.

use reqwest::Method;
use serde_json::Value;

use crate::{
    ApiClient,
    args::{PROXY_PATH, ProxyArgs},
    commands::{Render, text},
};

/// Sends the request `proxy` describes and returns the upstream answer.
pub async fn send(client: &ApiClient, proxy: &ProxyArgs) -> anyhow::Result<(Value, Render)> {
    let mut answer = client.call(Method::POST, PROXY_PATH, Some(&proxy.body())).await?;
    Ok((answer["data"].take(), upstream_answer))
}

/// Renders the upstream status and body, with a JSON body (even one sent as text) pretty-printed.
fn upstream_answer(answer: &Value) -> String {
    let body = &answer["body"];
    let parsed = body
        .as_str()
        .and_then(|body| serde_json::from_str::<Value>(body).ok());
    let body = match (parsed, body) {
        (Some(json), _) => pretty(&json),
        (None, Value::String(body)) => body.clone(),
        (None, json) => pretty(json),
    };
    format!(
        "HTTP {} from {}\n{body}",
        text(&answer["status_code"]),
        text(&answer["target"])
    )
}

fn pretty(json: &Value) -> String {
    serde_json::to_string_pretty(json).unwrap_or_else(|_| json.to_string())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_upstream_answer_shows_the_status_and_a_pretty_json_body() {
        let answer = json!({"status_code": 200, "target": "https://api.example.com", "body": {"ok": true}});
        assert_eq!(
            upstream_answer(&answer),
            "HTTP 200 from https://api.example.com\n{\n  \"ok\": true\n}"
        );
    }

    #[test]
    fn an_upstream_body_sent_as_text_is_pretty_printed_when_it_is_json_and_shown_as_is_otherwise() {
        let json_text = json!({"status_code": 201, "target": "t", "body": "{\"id\":1}"});
        assert_eq!(upstream_answer(&json_text), "HTTP 201 from t\n{\n  \"id\": 1\n}");
        let plain = json!({"status_code": 502, "target": "t", "body": "bad gateway"});
        assert_eq!(upstream_answer(&plain), "HTTP 502 from t\nbad gateway");
    }
}
