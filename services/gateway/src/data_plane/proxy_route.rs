//! `POST /api/v1/gpu/proxy`: one request to one of the caller's instances (load-balanced) or to a
//! URL the SSRF checks let through, answered with the upstream's status, headers and body.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::data_plane::DataPlane;
use crate::data_plane::{Protocol, ProxyCall, ProxyReply, TIMELIMIT_HEADER, shape};
use crate::error::ErrorBody;
use crate::rest::envelope::DataEnvelope;
use crate::rest::json_body::JsonBody;
use crate::rest::principal::AuthUser;
use crate::{AppState, Error};

/// The proxy route.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(proxy))
}

/// A proxied request (seed 001).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProxyRequestDto {
    /// `http`, `https`, `mcp` (JSON-RPC 2.0) or `openinference` (KServe V2 / OpenAI-compatible).
    #[schema(example = "https")]
    pub protocol: String,
    /// Where to send it. Absent: the load balancer picks one of the caller's running instances.
    /// Private, loopback and link-local addresses are refused unless they are the caller's
    /// instance or allow-listed by the operator (`PROXY_ALLOWED_HOSTS`).
    #[schema(example = "https://api.example.com/inference")]
    pub target_url: Option<String>,
    /// The path on the target (default: the URL's, else the protocol's: `/`, `/v2/models/{model}/infer`,
    /// `/v1/chat/completions` or `/v1/completions`).
    #[schema(example = "/v1/chat/completions")]
    pub path: Option<String>,
    /// The HTTP method (default POST with a body, GET without).
    #[schema(example = "POST")]
    pub method: Option<String>,
    /// Headers for the upstream (credentials for this gateway are never forwarded).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// The body: JSON, or a string sent as text.
    pub body: Option<Value>,
    /// Seconds; `X-Timelimit` may lower it; at most `PROXY_MAX_TIMEOUT`.
    #[schema(example = 30)]
    pub timeout: Option<u64>,
}

/// The upstream's answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProxyResponseDto {
    /// The upstream's HTTP status.
    pub status_code: u16,
    /// The upstream's headers.
    pub headers: BTreeMap<String, String>,
    /// The upstream's body: JSON when it is JSON, else text.
    pub body: Value,
    /// The URL that answered.
    pub target: String,
    /// The caller's instance that answered, when it was one.
    pub instance_id: Option<String>,
    /// Time to the whole answer, ms.
    pub latency_ms: f64,
}

impl ProxyRequestDto {
    /// Validates the request and shapes it for its protocol; `time_limit` is the `X-Timelimit` header.
    pub fn into_call(self, plane: &DataPlane, time_limit: Option<&HeaderValue>) -> Result<ProxyCall, Error> {
        let protocol = Protocol::parse(&self.protocol)?;
        let timeout = plane.proxy.time_limit(self.timeout, time_limit)?;
        let shaped = shape(
            protocol,
            self.method.as_deref(),
            self.path.as_deref(),
            self.body,
            None,
        )?;
        Ok(ProxyCall {
            target_url: self.target_url.filter(|url| !url.trim().is_empty()),
            path_is_explicit: self.path.is_some(),
            shaped,
            headers: self.headers.into_iter().collect(),
            timeout,
        })
    }
}

impl From<ProxyReply> for ProxyResponseDto {
    fn from(reply: ProxyReply) -> Self {
        let body = serde_json::from_slice(&reply.body)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&reply.body).into_owned()));
        ProxyResponseDto {
            status_code: reply.status,
            headers: reply.headers,
            body,
            target: reply.target,
            instance_id: reply.instance_id,
            latency_ms: reply.latency.as_secs_f64() * 1000.0,
        }
    }
}

/// Proxies one request and returns the upstream's answer (up to `PROXY_MAX_RESPONSE_BYTES`; stream
/// larger or server-sent answers through `/api/v1/gpu/route/{path}`). The upstream's own error
/// statuses come back in `status_code` with a 200.
#[utoipa::path(post, path = "/proxy", tag = "gpu", request_body = ProxyRequestDto,
    params(("X-Timelimit" = Option<f64>, Header, description = "Seconds the request may take")),
    security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 200, description = "The upstream answered", body = ProxyResponseDto),
        (status = 400, description = "A bad field (VALIDATION_FAILED)", body = ErrorBody),
        (status = 403, description = "A private, loopback or link-local target (TARGET_FORBIDDEN)", body = ErrorBody),
        (status = 502, description = "The upstream could not be reached (UPSTREAM_FAILED)", body = ErrorBody),
        (status = 503, description = "No running instance to pick (NO_HEALTHY_INSTANCE)", body = ErrorBody),
        (status = 504, description = "The time limit passed (TIMEOUT)", body = ErrorBody),
    ))]
async fn proxy(
    State(plane): State<DataPlane>,
    AuthUser(user): AuthUser,
    headers: HeaderMap,
    JsonBody(body): JsonBody<ProxyRequestDto>,
) -> Result<Json<DataEnvelope<ProxyResponseDto>>, Error> {
    let call = body.into_call(&plane, headers.get(TIMELIMIT_HEADER))?;
    let reply = plane.proxy_once(user.user_id, call).await?;
    Ok(Json(DataEnvelope::new(reply.into())))
}
