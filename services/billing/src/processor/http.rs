//! Calling a processor over HTTP: timeouts, bounded retries with backoff and jitter.

use std::time::Duration;

use reqwest::{RequestBuilder, StatusCode};
use serde_json::Value;

use super::ProcessorError;

/// A client with the call limits of `PAYMENT_TIMEOUT` and `PAYMENT_MAX_RETRIES`.
#[derive(Debug, Clone)]
pub struct HttpCalls {
    client: reqwest::Client,
    max_retries: u32,
}

/// First wait before a retry; doubled each time.
const FIRST_BACKOFF: Duration = Duration::from_millis(100);

impl HttpCalls {
    /// Builds the client.
    pub fn new(timeout: Duration, max_retries: u32) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            // Processors never redirect an API call; following one could leak the secret key.
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(HttpCalls { client, max_retries })
    }

    /// The underlying client, to build requests with.
    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// Sends the request `build` makes, again after connection failures, 409, 429 and 5xx (unless the
    /// processor says `Stripe-Should-Retry: false`), and returns the final status with its JSON body
    /// (`Null` when not JSON). `build` must set the same idempotency key each time.
    pub async fn send(
        &self,
        processor: &str,
        build: impl Fn() -> RequestBuilder,
    ) -> Result<(StatusCode, Value), ProcessorError> {
        let mut attempt = 0;
        loop {
            let last = attempt >= self.max_retries;
            match build().send().await {
                Ok(response) => {
                    let status = response.status();
                    let should_retry = response
                        .headers()
                        .get("stripe-should-retry")
                        .and_then(|value| value.to_str().ok())
                        .map(|value| value == "true");
                    let body = response.bytes().await.map_err(|error| {
                        ProcessorError::Unreachable(format!("{processor} answer broke off: {error}"))
                    })?;
                    let json = serde_json::from_slice(&body).unwrap_or(Value::Null);
                    let retryable = should_retry.unwrap_or(
                        status == StatusCode::CONFLICT
                            || status == StatusCode::TOO_MANY_REQUESTS
                            || status.is_server_error(),
                    );
                    if !retryable || last {
                        if retryable {
                            return Err(ProcessorError::Unreachable(format!(
                                "{processor} answered {status} after {} attempts",
                                attempt + 1
                            )));
                        }
                        return Ok((status, json));
                    }
                }
                Err(error) if last => {
                    return Err(ProcessorError::Unreachable(format!(
                        "{processor} could not be reached: {}",
                        without_url(&error)
                    )));
                }
                Err(_) => {}
            }
            tokio::time::sleep(backoff(attempt)).await;
            attempt += 1;
        }
    }
}

/// Exponential backoff with full jitter, so retrying callers do not arrive together.
fn backoff(attempt: u32) -> Duration {
    let ceiling = FIRST_BACKOFF.saturating_mul(1 << attempt.min(6));
    let millis = u64::try_from(ceiling.as_millis()).unwrap_or(u64::MAX);
    Duration::from_millis(millis / 2 + rand::random_range(0..=millis / 2))
}

/// A reqwest error without its URL (which may carry a query the logs need not hold).
fn without_url(error: &reqwest::Error) -> String {
    let kind = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "connection failed"
    } else {
        "request failed"
    };
    kind.to_owned()
}

/// Returns the processor's error text from a JSON error body: `error.message` (Stripe, AfterDark)
/// or `message` (NOWPayments), with its code.
pub fn error_text(json: &Value) -> String {
    let error = json.get("error").unwrap_or(json);
    let message = error
        .get("message")
        .and_then(Value::as_str)
        .unwrap_or("no message");
    match error.get("code").and_then(Value::as_str) {
        Some(code) => format!("{code}: {message}"),
        None => message.to_owned(),
    }
}

/// A processor's refusal of a request before it acted (4xx other than a decline).
pub fn refused(processor: &str, status: StatusCode, json: &Value) -> ProcessorError {
    ProcessorError::Refused(format!("{processor} answered {status}: {}", error_text(json)))
}
