//! One provider's HTTP transport: per-attempt timeout, bounded retries with backoff that honour
//! `Retry-After`, the circuit breaker, metrics and the health figures.

use std::time::{Duration, Instant};

use gpuproxy_config::{ExposeSecret, SecretString};
use gpuproxy_domain::Provider;
use http::{HeaderMap, HeaderValue, Method, StatusCode};
use tokio::sync::mpsc;

use crate::config::RetryPolicy;
use crate::error::ProviderError;
use crate::providers::breaker::{Breaker, Transition};
use crate::providers::metrics::ProviderMetrics;
use crate::providers::stats::Stats;

/// Whether a call may be repeated after a failure that might have reached the provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    /// Reads and deletes: retried on 429, 5xx, timeouts and connection failures.
    Idempotent,
    /// Renting: retried only on 429, which the provider answers without acting. Retrying a rent
    /// after a 5xx or a timeout could rent twice; the reservation service reconciles by label instead.
    RateLimitsOnly,
}

/// One HTTP call.
#[derive(Debug)]
pub struct Call<'a> {
    /// The metric label, e.g. `search_offers`.
    pub operation: &'static str,
    /// The method.
    pub method: Method,
    /// The path after the base URL, with its leading slash.
    pub path: String,
    /// Query parameters.
    pub query: Vec<(&'static str, String)>,
    /// A JSON body.
    pub body: Option<&'a serde_json::Value>,
    /// Retry rule.
    pub retry: Retry,
}

impl<'a> Call<'a> {
    /// A call with no query and no body.
    pub fn new(operation: &'static str, method: Method, path: impl Into<String>, retry: Retry) -> Self {
        Call {
            operation,
            method,
            path: path.into(),
            query: Vec::new(),
            body: None,
            retry,
        }
    }

    /// Adds a query parameter.
    pub fn query(mut self, name: &'static str, value: impl ToString) -> Self {
        self.query.push((name, value.to_string()));
        self
    }

    /// Sets the JSON body.
    pub fn body(mut self, body: &'a serde_json::Value) -> Self {
        self.body = Some(body);
        self
    }
}

/// A response that is not a transport failure, a 429 or a 5xx: 2xx and the 4xx the client interprets.
#[derive(Debug)]
pub struct Reply {
    /// The status.
    pub status: StatusCode,
    /// The body.
    pub body: bytes::Bytes,
}

impl Reply {
    /// Parses the body as `T`; a body of another shape is [`ProviderError::Decode`].
    pub fn json<T: serde::de::DeserializeOwned>(&self, provider: Provider) -> Result<T, ProviderError> {
        serde_json::from_slice(&self.body).map_err(|error| ProviderError::Decode {
            provider,
            message: error.to_string(),
        })
    }

    /// Returns the provider's message: `msg`, `message`, `detail` (string or FastAPI list) or `error`
    /// of a JSON body, else the start of the text.
    pub fn message(&self) -> String {
        provider_message(&self.body)
    }
}

/// The transport of one provider.
#[derive(Debug, Clone)]
pub struct ProviderHttp {
    provider: Provider,
    client: reqwest::Client,
    base_url: String,
    attempt_timeout: Duration,
    retry: RetryPolicy,
    breaker: Breaker,
    metrics: ProviderMetrics,
    stats: Stats,
    transitions: mpsc::UnboundedSender<(Provider, Transition)>,
}

/// What [`ProviderHttp::new`] needs.
#[derive(Debug)]
pub struct HttpSettings {
    /// The provider.
    pub provider: Provider,
    /// Scheme and host, no trailing slash.
    pub base_url: String,
    /// The auth header (`authorization` or `x-api-key`) and its value.
    pub auth_header: (&'static str, SecretString),
    /// One attempt's limit.
    pub attempt_timeout: Duration,
    /// Retries.
    pub retry: RetryPolicy,
    /// The breaker.
    pub breaker: Breaker,
    /// Metrics.
    pub metrics: ProviderMetrics,
    /// Where breaker transitions are announced.
    pub transitions: mpsc::UnboundedSender<(Provider, Transition)>,
}

impl ProviderHttp {
    /// Builds the transport.
    pub fn new(settings: HttpSettings) -> Result<Self, reqwest::Error> {
        let mut headers = HeaderMap::new();
        if let Ok(mut value) = HeaderValue::from_str(settings.auth_header.1.expose_secret()) {
            value.set_sensitive(true);
            headers.insert(settings.auth_header.0, value);
        }
        let client = reqwest::Client::builder()
            .default_headers(headers)
            .user_agent(concat!("gpuproxy/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(settings.attempt_timeout.min(Duration::from_secs(10)))
            .pool_idle_timeout(Duration::from_secs(60))
            // Never follow a redirect: reqwest would carry io.net's x-api-key to whatever host it names.
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(ProviderHttp {
            provider: settings.provider,
            client,
            base_url: settings.base_url.trim_end_matches('/').to_owned(),
            attempt_timeout: settings.attempt_timeout,
            retry: settings.retry,
            breaker: settings.breaker,
            metrics: settings.metrics,
            stats: Stats::default(),
            transitions: settings.transitions,
        })
    }

    /// Returns the provider.
    pub fn provider(&self) -> Provider {
        self.provider
    }

    /// Returns the base URL.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Returns the breaker.
    pub fn breaker(&self) -> &Breaker {
        &self.breaker
    }

    /// Returns the recent-call figures.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// Sends `call`, retrying as its [`Retry`] allows. Returns 2xx and 4xx replies (other than 429)
    /// for the client to interpret; everything else becomes a [`ProviderError`].
    pub async fn send(&self, call: Call<'_>) -> Result<Reply, ProviderError> {
        let url = reqwest::Url::parse_with_params(&format!("{}{}", self.base_url, call.path), &call.query)
            .map_err(|error| ProviderError::Decode {
                provider: self.provider,
                message: format!("bad URL for {}: {error}", call.operation),
            })?;
        let mut attempt = 1;
        loop {
            let permit = self
                .breaker
                .admit()
                .map_err(|retry_in| ProviderError::CircuitOpen {
                    provider: self.provider,
                    retry_in,
                })?;
            let started = Instant::now();
            let outcome = self.attempt(&call, url.clone()).await;
            let seconds = started.elapsed().as_secs_f64();
            self.metrics
                .record_call(self.provider, call.operation, outcome_label(&outcome), seconds);
            let wait = match outcome {
                Attempt::Reply(reply) => {
                    self.stats.record(seconds, true, None);
                    self.announce(permit.success());
                    return Ok(reply);
                }
                Attempt::RateLimited(retry_after) => {
                    permit.neutral();
                    self.stats.record(seconds, true, None);
                    let give_up = ProviderError::RateLimited {
                        provider: self.provider,
                        retry_after,
                    };
                    match retry_after {
                        Some(wait) if wait > self.retry.max_retry_after => return Err(give_up),
                        _ if attempt >= self.retry.max_attempts => return Err(give_up),
                        Some(wait) => wait,
                        None => self.backoff(attempt),
                    }
                }
                Attempt::Refused(error) => {
                    permit.neutral();
                    self.stats.record(seconds, false, Some(error.to_string()));
                    return Err(error);
                }
                Attempt::Failed(error) => {
                    self.stats.record(seconds, false, Some(error.to_string()));
                    self.announce(permit.failure());
                    if call.retry == Retry::RateLimitsOnly || attempt >= self.retry.max_attempts {
                        return Err(error);
                    }
                    self.backoff(attempt)
                }
            };
            tracing::debug!(provider = %self.provider, operation = call.operation, attempt, ?wait, "retrying a provider call");
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }

    async fn attempt(&self, call: &Call<'_>, url: reqwest::Url) -> Attempt {
        let mut request = self.client.request(call.method.clone(), url);
        if let Some(body) = call.body {
            request = request.json(body);
        }
        let exchange = async {
            let response = request.send().await?;
            let status = response.status();
            let retry_after = response
                .headers()
                .get(http::header::RETRY_AFTER)
                .and_then(|value| value.to_str().ok())
                .and_then(|value| value.trim().parse::<u64>().ok())
                .map(Duration::from_secs);
            let body = read_capped(response).await?;
            Ok::<_, AttemptError>((status, retry_after, body))
        };
        match tokio::time::timeout(self.attempt_timeout, exchange).await {
            Err(_) => Attempt::Failed(ProviderError::Timeout {
                provider: self.provider,
                after: self.attempt_timeout,
            }),
            Ok(Err(AttemptError::Http(error))) if error.is_timeout() => {
                Attempt::Failed(ProviderError::Timeout {
                    provider: self.provider,
                    after: self.attempt_timeout,
                })
            }
            Ok(Err(AttemptError::Http(error))) => Attempt::Failed(ProviderError::Network {
                provider: self.provider,
                message: error_chain(&error),
            }),
            Ok(Err(AttemptError::TooLarge)) => Attempt::Failed(ProviderError::Decode {
                provider: self.provider,
                message: format!("the answer is larger than {} MiB", MAX_BODY_BYTES / (1024 * 1024)),
            }),
            Ok(Ok((StatusCode::TOO_MANY_REQUESTS, _, body))) if is_quota_exhausted(&body) => {
                Attempt::Refused(ProviderError::QuotaExhausted {
                    provider: self.provider,
                })
            }
            Ok(Ok((StatusCode::TOO_MANY_REQUESTS, retry_after, _))) => Attempt::RateLimited(retry_after),
            Ok(Ok((status, _, body))) if status.is_server_error() => Attempt::Failed(ProviderError::Server {
                provider: self.provider,
                status: status.as_u16(),
                message: provider_message(&body),
            }),
            Ok(Ok((status, _, body))) => Attempt::Reply(Reply { status, body }),
        }
    }

    fn backoff(&self, attempt: u32) -> Duration {
        let exponential = self
            .retry
            .backoff
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(10));
        // Full jitter between half and all of the step, so retrying clients spread out.
        exponential
            .mul_f64(rand::random_range(0.5..=1.0))
            .min(Duration::from_secs(30))
    }

    fn announce(&self, transition: Option<Transition>) {
        self.metrics
            .set_breaker(self.provider, self.breaker.state().gauge());
        if let Some(transition) = transition {
            // The receiver lives as long as the service; a send error means it is shutting down.
            let _ = self.transitions.send((self.provider, transition));
        }
    }
}

/// The largest answer read from a provider: a full vast.ai search of 10,000 offers is about 20 MiB.
const MAX_BODY_BYTES: usize = 128 * 1024 * 1024;

enum AttemptError {
    Http(reqwest::Error),
    TooLarge,
}

impl From<reqwest::Error> for AttemptError {
    fn from(error: reqwest::Error) -> Self {
        AttemptError::Http(error)
    }
}

/// Reads the body, refusing one larger than [`MAX_BODY_BYTES`] instead of buffering it all.
async fn read_capped(mut response: reqwest::Response) -> Result<bytes::Bytes, AttemptError> {
    let expected = response.content_length().unwrap_or(0);
    if expected > MAX_BODY_BYTES as u64 {
        return Err(AttemptError::TooLarge);
    }
    let mut body = bytes::BytesMut::with_capacity(usize::try_from(expected).unwrap_or(0));
    while let Some(chunk) = response.chunk().await? {
        if body.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(AttemptError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

enum Attempt {
    Reply(Reply),
    RateLimited(Option<Duration>),
    /// Refused in a way no retry can fix, and that says nothing of the provider's health.
    Refused(ProviderError),
    Failed(ProviderError),
}

fn outcome_label(attempt: &Attempt) -> &'static str {
    match attempt {
        Attempt::Reply(reply) if reply.status.is_success() => "ok",
        Attempt::Reply(_) => "client_error",
        Attempt::RateLimited(_) | Attempt::Refused(_) => "rate_limited",
        Attempt::Failed(ProviderError::Timeout { .. }) => "timeout",
        Attempt::Failed(ProviderError::Server { .. }) => "server_error",
        Attempt::Failed(_) => "network_error",
    }
}

/// vast.ai's daily search quota: waiting does not help until midnight UTC, so it is never retried.
fn is_quota_exhausted(body: &[u8]) -> bool {
    serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|value| {
            value
                .get("error")?
                .as_str()
                .map(|error| error == "search_quota_exceeded")
        })
        .unwrap_or(false)
}

/// Extracts a human message from a provider's error body.
pub fn provider_message(body: &[u8]) -> String {
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(body) {
        for key in ["msg", "message", "detail", "error"] {
            match value.get(key) {
                Some(serde_json::Value::String(text)) => return text.clone(),
                Some(serde_json::Value::Array(items)) => {
                    let messages: Vec<String> = items
                        .iter()
                        .map(|item| {
                            let location = item
                                .get("loc")
                                .and_then(serde_json::Value::as_array)
                                .map(|parts| {
                                    parts
                                        .iter()
                                        .map(|part| part.to_string().trim_matches('"').to_owned())
                                        .collect::<Vec<_>>()
                                        .join(".")
                                })
                                .unwrap_or_default();
                            let message = item
                                .get("msg")
                                .and_then(serde_json::Value::as_str)
                                .unwrap_or("invalid");
                            format!("{location}: {message}")
                        })
                        .collect();
                    return messages.join("; ");
                }
                _ => {}
            }
        }
        if let serde_json::Value::String(text) = value {
            return text;
        }
    }
    let text = String::from_utf8_lossy(body);
    text.trim().chars().take(200).collect()
}

fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_found_in_every_documented_error_shape() {
        assert_eq!(
            provider_message(br#"{"success":false,"error":"auth_error","msg":"Invalid user key"}"#),
            "Invalid user key"
        );
        assert_eq!(
            provider_message(br#"{"detail":"Insufficient funds"}"#),
            "Insufficient funds"
        );
        assert_eq!(
            provider_message(
                br#"{"detail":[{"loc":["body","hardware_id"],"msg":"field required","type":"missing"}]}"#
            ),
            "body.hardware_id: field required"
        );
        assert_eq!(provider_message(br#""Not found""#), "Not found");
        assert_eq!(
            provider_message(b"API requests too frequent"),
            "API requests too frequent"
        );
    }

    #[test]
    fn the_search_quota_is_recognised() {
        assert!(is_quota_exhausted(
            br#"{"error":"search_quota_exceeded","msg":"x"}"#
        ));
        assert!(!is_quota_exhausted(b"API requests too frequent"));
    }
}
