//! Sending a proxied request and reading its answer within the time limit.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use gpuproxy_egress::EgressError;
use gpuproxy_errors::ErrorCode;

use super::protocol::{Protocol, Shaped};
use super::target::Target;
use crate::{AppState, Error};

/// Request headers never forwarded: hop-by-hop ones, the ones the client computes, and the
/// caller's credentials for this gateway, which must never reach an upstream.
pub const WITHHELD_REQUEST_HEADERS: &[&str] = &[
    "host",
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "content-length",
    "authorization",
    "x-api-key",
    "cookie",
    "x-timelimit",
];

/// Response headers never passed back (hop-by-hop).
pub const WITHHELD_RESPONSE_HEADERS: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// One proxied request, before its target is chosen.
#[derive(Debug, Clone)]
pub struct ProxyCall {
    /// The protocol.
    pub protocol: Protocol,
    /// The caller's target; `None` lets the load balancer pick one of the caller's instances.
    pub target_url: Option<String>,
    /// Whether the caller named the path (else the protocol's default).
    pub path_is_explicit: bool,
    /// Method, path and body.
    pub shaped: Shaped,
    /// The caller's headers for the upstream.
    pub headers: Vec<(String, String)>,
    /// The time limit.
    pub timeout: Duration,
}

/// The upstream's answer.
#[derive(Debug, Clone)]
pub struct ProxyReply {
    /// Its status.
    pub status: u16,
    /// Its headers (one value each; repeated ones joined with `, `).
    pub headers: BTreeMap<String, String>,
    /// Its body.
    pub body: bytes::Bytes,
    /// The URL it came from.
    pub target: String,
    /// The caller's instance that answered, when it was one.
    pub instance_id: Option<String>,
    /// Time to the whole answer.
    pub latency: Duration,
}

impl AppState {
    /// Chooses the target of `call` for `user_id`, sends it and reads the whole answer (at most
    /// `PROXY_MAX_RESPONSE_BYTES`) within its time limit. Results on the caller's instances feed
    /// the load balancer.
    pub async fn proxy_once(&self, user_id: &str, call: ProxyCall) -> Result<ProxyReply, Error> {
        let target = match &call.target_url {
            Some(url) => {
                self.named_target(user_id, url, &call.shaped.default_path, call.path_is_explicit)
                    .await?
            }
            None => self.pick_instance(user_id, &call.shaped.default_path).await?,
        };
        let started = Instant::now();
        let outcome = tokio::time::timeout(call.timeout, self.send_and_read(&target, &call)).await;
        let latency = started.elapsed();
        let outcome = outcome.unwrap_or_else(|_| {
            Err(Error::new(
                ErrorCode::Timeout,
                format!(
                    "the upstream did not answer within {:.1}s",
                    call.timeout.as_secs_f64()
                ),
            ))
        });
        let success = outcome.as_ref().is_ok_and(|(status, _, _)| *status < 500);
        self.report_result(&target, success, latency).await;
        let (status, headers, body) = outcome?;
        Ok(ProxyReply {
            status,
            headers,
            body,
            target: target.url.to_string(),
            instance_id: target.instance_id,
            latency,
        })
    }

    /// Chooses the target of `call` and sends it, returning the answer with its body unread (for
    /// streaming). The caller reports the outcome with [`AppState::report_result`].
    pub async fn proxy_open(
        &self,
        user_id: &str,
        call: &ProxyCall,
    ) -> Result<(Target, reqwest::Response, Instant), Error> {
        let target = match &call.target_url {
            Some(url) => {
                self.named_target(user_id, url, &call.shaped.default_path, call.path_is_explicit)
                    .await?
            }
            None => self.pick_instance(user_id, &call.shaped.default_path).await?,
        };
        let started = Instant::now();
        match tokio::time::timeout(call.timeout, self.send(&target, call)).await {
            Ok(Ok(response)) => Ok((target, response, started)),
            Ok(Err(error)) => {
                self.report_result(&target, false, started.elapsed()).await;
                Err(error)
            }
            Err(_) => {
                self.report_result(&target, false, started.elapsed()).await;
                Err(Error::new(
                    ErrorCode::Timeout,
                    "the upstream did not answer in time",
                ))
            }
        }
    }

    async fn send_and_read(
        &self,
        target: &Target,
        call: &ProxyCall,
    ) -> Result<(u16, BTreeMap<String, String>, bytes::Bytes), Error> {
        let mut response = self.send(target, call).await?;
        let status = response.status().as_u16();
        let headers = response_headers(response.headers());
        let limit = self.proxy.config.max_response_bytes;
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(upstream_broke_off)? {
            if body.len() + chunk.len() > limit {
                return Err(Error::new(
                    ErrorCode::UpstreamFailed,
                    format!(
                        "the upstream's answer is larger than PROXY_MAX_RESPONSE_BYTES ({limit}); use the streaming route"
                    ),
                ));
            }
            body.extend_from_slice(&chunk);
        }
        Ok((status, headers, body.into()))
    }

    /// Sends `call` to `target`: directly to the caller's own instance, else through the
    /// SSRF-checked client.
    pub async fn send(&self, target: &Target, call: &ProxyCall) -> Result<reqwest::Response, Error> {
        let mut request = reqwest::Request::new(call.shaped.method.clone(), target.url.clone());
        let mut has_content_type = false;
        for (name, value) in &call.headers {
            let lower = name.to_ascii_lowercase();
            if WITHHELD_REQUEST_HEADERS.contains(&lower.as_str()) {
                continue;
            }
            let (Ok(name), Ok(value)) = (
                http::HeaderName::from_bytes(lower.as_bytes()),
                http::HeaderValue::from_str(value),
            ) else {
                return Err(Error::new(
                    ErrorCode::ValidationFailed,
                    format!("header {name:?} is not a valid HTTP header"),
                )
                .with_field("headers"));
            };
            has_content_type |= name == http::header::CONTENT_TYPE;
            request.headers_mut().append(name, value);
        }
        if let (false, Some(content_type)) = (has_content_type, call.shaped.content_type) {
            request.headers_mut().insert(
                http::header::CONTENT_TYPE,
                http::HeaderValue::from_static(content_type),
            );
        }
        if let Some(body) = &call.shaped.body {
            *request.body_mut() = Some(body.clone().into());
        }
        let sent = if target.is_own_instance() {
            self.proxy
                .direct
                .execute(request)
                .await
                .map_err(EgressError::Request)
        } else {
            self.proxy.egress.send(request).await
        };
        sent.map_err(egress_error)
    }
}

/// Maps an outbound failure to the caller's error.
pub fn egress_error(error: EgressError) -> Error {
    match error {
        EgressError::Forbidden { .. } => Error::new(ErrorCode::TargetForbidden, error.to_string()),
        EgressError::InvalidUrl(reason) => {
            Error::new(ErrorCode::ValidationFailed, reason).with_field("target_url")
        }
        EgressError::TooManyRedirects => Error::new(ErrorCode::UpstreamFailed, error.to_string()),
        EgressError::Request(error) => upstream_broke_off(error),
    }
}

fn upstream_broke_off(error: reqwest::Error) -> Error {
    if error.is_timeout() {
        return Error::new(ErrorCode::Timeout, "the upstream did not answer in time");
    }
    let mut reason = error.to_string();
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        reason = format!("{reason}: {cause}");
        source = cause.source();
    }
    Error::new(
        ErrorCode::UpstreamFailed,
        format!("the upstream could not be reached: {reason}"),
    )
}

/// Returns the headers worth passing back, one value each.
pub fn response_headers(headers: &http::HeaderMap) -> BTreeMap<String, String> {
    let mut kept: BTreeMap<String, String> = BTreeMap::new();
    for (name, value) in headers {
        if WITHHELD_RESPONSE_HEADERS.contains(&name.as_str()) {
            continue;
        }
        let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        kept.entry(name.as_str().to_owned())
            .and_modify(|joined| {
                joined.push_str(", ");
                joined.push_str(&value);
            })
            .or_insert(value);
    }
    kept
}
