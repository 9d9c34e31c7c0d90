//! Sending a proxied request and reading its answer within the time limit.

use gpuproxy_domain::UserId;
use std::collections::BTreeMap;
use std::time::Duration;

use gpuproxy_egress::EgressError;
use gpuproxy_errors::ErrorCode;
use http::HeaderName;

use super::protocol::Shaped;
use super::target::{Target, Ticket};
use super::withheld::{WITHHELD_REQUEST, WITHHELD_RESPONSE};
use crate::Error;
use crate::data_plane::DataPlane;

/// One proxied request, before its target is chosen.
#[derive(Debug, Clone)]
pub struct ProxyCall {
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

impl DataPlane {
    /// Chooses the target of `call` for `user_id`, sends it and reads the whole answer (at most
    /// `PROXY_MAX_RESPONSE_BYTES`) within its time limit. Results on the caller's instances feed
    /// the load balancer.
    pub async fn proxy_once(&self, user_id: UserId, call: ProxyCall) -> Result<ProxyReply, Error> {
        let (target, mut ticket) = self.admit(user_id, &call).await?;
        let outcome =
            tokio::time::timeout(call.timeout, self.send_and_read(&target, &call, &mut ticket)).await;
        let outcome = outcome.unwrap_or_else(|_| {
            Err(Error::new(
                ErrorCode::Timeout,
                format!(
                    "the upstream did not answer within {:.1}s",
                    call.timeout.as_secs_f64()
                ),
            ))
        });
        if outcome.is_err() {
            ticket.failed();
        }
        let latency = ticket.latency();
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
    /// streaming) and the ticket that reports it to the load balancer when dropped.
    pub async fn proxy_open(
        &self,
        user_id: UserId,
        call: &ProxyCall,
    ) -> Result<(reqwest::Response, Ticket), Error> {
        let (target, mut ticket) = self.admit(user_id, call).await?;
        match tokio::time::timeout(call.timeout, self.send(&target, call)).await {
            Ok(Ok(response)) => {
                ticket.answered(response.status());
                Ok((response, ticket))
            }
            Ok(Err(error)) => {
                ticket.failed();
                Err(error)
            }
            Err(_) => {
                ticket.failed();
                Err(Error::new(
                    ErrorCode::Timeout,
                    "the upstream did not answer in time",
                ))
            }
        }
    }

    /// Checks `call`'s headers, chooses its target and charges it; returns the target with the
    /// ticket that counts the request on an instance of the caller's until it ends.
    async fn admit(&self, user_id: UserId, call: &ProxyCall) -> Result<(Target, Ticket), Error> {
        validate_headers(&call.headers)?;
        let target = match &call.target_url {
            Some(url) => {
                self.named_target(user_id, url, &call.shaped.default_path, call.path_is_explicit)
                    .await?
            }
            None => self.pick_instance(user_id, &call.shaped.default_path).await?,
        };
        let ticket = self.ticket(&target);
        // After the ticket: a refused charge drops it, which releases the balancer's in-flight count.
        self.charge_request(user_id, "proxied request").await?;
        Ok((target, ticket))
    }

    async fn send_and_read(
        &self,
        target: &Target,
        call: &ProxyCall,
        ticket: &mut Ticket,
    ) -> Result<(u16, BTreeMap<String, String>, bytes::Bytes), Error> {
        let mut response = self.send(target, call).await?;
        ticket.answered(response.status());
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
            let invalid = || {
                Error::new(
                    ErrorCode::ValidationFailed,
                    format!("header {name:?} is not a valid HTTP header"),
                )
                .with_field("headers")
            };
            let name = HeaderName::from_bytes(name.to_ascii_lowercase().as_bytes()).map_err(|_| invalid())?;
            if WITHHELD_REQUEST.contains(&name) {
                continue;
            }
            let value = http::HeaderValue::from_str(value).map_err(|_| invalid())?;
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

/// Refuses headers that are not valid HTTP before a target is chosen, so a caller's mistake never
/// counts against an instance.
pub fn validate_headers(headers: &[(String, String)]) -> Result<(), Error> {
    for (name, value) in headers {
        if http::HeaderName::from_bytes(name.as_bytes()).is_err()
            || http::HeaderValue::from_str(value).is_err()
        {
            return Err(Error::new(
                ErrorCode::ValidationFailed,
                format!("header {name:?} is not a valid HTTP header"),
            )
            .with_field("headers"));
        }
    }
    Ok(())
}

/// Maps an outbound failure to the caller's error. The caller's URL is checked before sending, so
/// an invalid URL here is a redirect's `Location`: the upstream's fault.
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
        if WITHHELD_RESPONSE.contains(name) {
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
