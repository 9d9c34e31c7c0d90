//! Calls to the REST API.

use std::time::Instant;

use reqwest::{Method, StatusCode};
use serde_json::Value;

/// A REST client with the credentials and tracing the command line asked for.
#[derive(Debug, Clone)]
pub struct ApiClient {
    http: reqwest::Client,
    server: String,
    key: Option<String>,
    token: Option<String>,
    trace: bool,
    debug: bool,
}

impl ApiClient {
    /// Returns a client of `server` authenticating with `key` (preferred) or `token`.
    pub fn new(server: &str, key: Option<String>, token: Option<String>, trace: bool, debug: bool) -> Self {
        ApiClient {
            http: reqwest::Client::new(),
            server: server.trim_end_matches('/').to_owned(),
            key,
            token,
            trace: trace || debug,
            debug,
        }
    }

    /// Returns whether calls are traced on standard error, where they would tear progress bars.
    pub fn traces(&self) -> bool {
        self.trace
    }

    /// Sends `method path` with an optional JSON body and returns the JSON answer; an error answer
    /// becomes an error naming its message and code.
    pub async fn call(&self, method: Method, path: &str, body: Option<&Value>) -> anyhow::Result<Value> {
        self.call_with_headers(method, path, body, &[]).await
    }

    /// Sends `method path` like [`ApiClient::call`], adding `headers` (such as `Idempotency-Key`).
    pub async fn call_with_headers(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> anyhow::Result<Value> {
        let mut request = self.request(method.clone(), path);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        self.send(method, path, request).await
    }

    /// Sends a multipart form (`-F`) to `POST path`, streaming its file parts.
    pub async fn upload(&self, path: &str, form: reqwest::multipart::Form) -> anyhow::Result<Value> {
        let request = self.request(Method::POST, path).multipart(form);
        self.send(Method::POST, path, request).await
    }

    /// A request to `path` with the credentials.
    fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        let request = self.http.request(method, format!("{}{path}", self.server));
        if let Some(key) = &self.key {
            request.header("X-API-Key", key)
        } else if let Some(token) = &self.token {
            request.bearer_auth(token)
        } else {
            request
        }
    }

    /// Sends `request`, traces it, and reads its JSON answer; an error answer becomes an error
    /// naming its message and code.
    async fn send(
        &self,
        method: Method,
        path: &str,
        request: reqwest::RequestBuilder,
    ) -> anyhow::Result<Value> {
        let url = format!("{}{path}", self.server);
        let started = Instant::now();
        let response = request
            .send()
            .await
            .map_err(|error| anyhow::anyhow!("cannot reach {url}: {error}"))?;
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await?;
        if self.trace {
            let request_id = headers
                .get("x-request-id")
                .and_then(|value| value.to_str().ok())
                .unwrap_or("-");
            eprintln!(
                "{method} {url} → {status} in {:?} (request id {request_id})",
                started.elapsed()
            );
        }
        if self.debug {
            for (name, value) in &headers {
                eprintln!("  {name}: {}", value.to_str().unwrap_or("<binary>"));
            }
            eprintln!("  {text}");
        }
        let json: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        if status.is_success() || status == StatusCode::SERVICE_UNAVAILABLE && path == "/health" {
            return Ok(json);
        }
        let message = json["error"].as_str().unwrap_or(&text);
        let code = json["code"].as_str().unwrap_or("HTTP_ERROR");
        anyhow::bail!("{message} ({code}, HTTP {})", status.as_u16())
    }
}
