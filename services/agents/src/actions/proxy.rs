//! `proxy_inference_request`: the shape of its input and output. The gateway's data plane runs it
//! (`ProxyRequestDto` and `ProxyResponseDto` of `POST /api/v1/gpu/proxy`, which these mirror; the
//! MCP flow test holds the two to the same fields).

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One request to send.
#[derive(Debug, Deserialize, JsonSchema)]
#[expect(
    dead_code,
    reason = "the gateway's data plane reads these; here they only check the arguments"
)]
#[serde(deny_unknown_fields)]
pub struct ProxyInput {
    /// `http`, `https`, `mcp` (JSON-RPC 2.0) or `openinference` (KServe V2 / OpenAI-compatible).
    pub protocol: String,
    /// Where to send it. Absent: the load balancer picks one of your running instances.
    #[serde(default)]
    pub target_url: Option<String>,
    /// The path on the target (default: the protocol's, e.g. `/v1/chat/completions`).
    #[serde(default)]
    pub path: Option<String>,
    /// The HTTP method (default POST with a body, GET without).
    #[serde(default)]
    pub method: Option<String>,
    /// Headers for the upstream.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// The body: JSON, or a string sent as text.
    #[serde(default)]
    pub body: Option<Value>,
    /// Seconds the request may take (at most the operator's `PROXY_MAX_TIMEOUT`).
    #[serde(default)]
    pub timeout: Option<u64>,
}

/// The upstream's answer.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ProxyOutput {
    /// The upstream's HTTP status.
    pub status_code: u16,
    /// The upstream's headers.
    pub headers: BTreeMap<String, String>,
    /// The upstream's body: JSON when it is JSON, else text.
    pub body: Value,
    /// The URL that answered.
    pub target: String,
    /// Your instance that answered, when it was one.
    pub instance_id: Option<String>,
    /// Time to the whole answer, ms.
    pub latency_ms: f64,
}
