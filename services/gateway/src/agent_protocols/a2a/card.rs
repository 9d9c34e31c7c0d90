//! `GET /.well-known/agent-card.json`: who this agent is to A2A clients, its skills drawn from the
//! action catalog, where it listens (`PUBLIC_URL`, or the host the request was sent to) and how
//! to authenticate.

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::header::{HOST, VARY};
use http::{HeaderMap, HeaderValue, Uri};
use serde_json::{Value, json};

use crate::agent_protocols::AGENT_NAME;
use crate::{AppState, Error};

/// Where the JSON-RPC binding listens, under the gateway's URL.
pub const A2A_PATH: &str = "/api/v1/a2a";

/// Answers the agent card (A2A 1.0): the JSON-RPC interface in 1.0 and 0.3, streaming, the API
/// key and bearer schemes, and one skill per action of the catalog.
#[utoipa::path(get, path = "/.well-known/agent-card.json", tag = "agents",
    responses(
        (status = 200, description = "The A2A 1.0 agent card: `name`, `description`, `version`, `supportedInterfaces` (JSON-RPC at `/api/v1/a2a`, protocol versions 1.0 and 0.3), `capabilities` (`streaming`), `securitySchemes` (`apiKey`: header `X-API-Key`; `bearer`), `securityRequirements`, `defaultInputModes`, `defaultOutputModes` and one `skills` entry per action", body = Value),
        (status = 503, description = "The agents service is unavailable", body = crate::error::ErrorBody),
    ))]
pub async fn agent_card(
    State(state): State<AppState>,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, Error> {
    let catalog = state.agents.catalog().await?;
    let base = match &state.public_url {
        Some(url) => url.to_string(),
        None => request_base(&uri, &headers),
    };
    let skills: Vec<Value> = catalog
        .iter()
        .map(|action| {
            let mut tags = vec![if action.read_only { "reads" } else { "changes" }];
            if action.spends_money {
                tags.push("spends-money");
            }
            if action.destructive {
                tags.push("destructive");
            }
            json!({
                "id": action.name,
                "name": action.name.replace('_', " "),
                "description": action.description,
                "tags": tags,
                "examples": [format!("{{\"action\": \"{}\", \"arguments\": {{}}}}", action.name)],
                "inputModes": ["application/json", "text/plain"],
                "outputModes": ["application/json", "text/plain"],
            })
        })
        .collect();
    let url = format!("{base}{A2A_PATH}");
    let card = json!({
        "name": AGENT_NAME,
        "description": "GPU Proxy: lists, rents and reserves GPUs of vast.ai and io.net, proxies inference to them, and reports spending and credits. Name a skill in a data part {\"action\": \"<skill id>\", \"arguments\": {…}} or start a text part with the skill id.",
        "version": state.version,
        "provider": { "organization": "aiserve GPU Proxy", "url": base },
        "documentationUrl": format!("{base}/openapi.json"),
        "supportedInterfaces": [
            { "url": url, "protocolBinding": "JSONRPC", "protocolVersion": "1.0" },
            { "url": url, "protocolBinding": "JSONRPC", "protocolVersion": "0.3" },
        ],
        "capabilities": { "streaming": true, "pushNotifications": false },
        // Each scheme in 1.0's shape and, beside it, 0.3's (`type`, `in`), as a2a-sdk's own
        // servers draw them: 1.0 clients read the first, 0.3 clients the second.
        "securitySchemes": {
            "apiKey": {
                "apiKeySecurityScheme": { "location": "header", "name": "X-API-Key", "description": "An API key of GPU Proxy" },
                "type": "apiKey", "in": "header", "name": "X-API-Key", "description": "An API key of GPU Proxy",
            },
            "bearer": {
                "httpAuthSecurityScheme": { "scheme": "Bearer", "bearerFormat": "JWT", "description": "A session token from POST /api/v1/auth/login" },
                "type": "http", "scheme": "Bearer", "bearerFormat": "JWT", "description": "A session token from POST /api/v1/auth/login",
            },
        },
        "securityRequirements": [
            { "schemes": { "apiKey": { "list": [] } } },
            { "schemes": { "bearer": { "list": [] } } },
        ],
        "defaultInputModes": ["application/json", "text/plain"],
        "defaultOutputModes": ["application/json", "text/plain"],
        "skills": skills,
        // A2A 0.3's fields, for 0.3 clients (1.0 clients read supportedInterfaces).
        "url": url,
        "preferredTransport": "JSONRPC",
        "protocolVersion": "0.3.0",
        "security": [{ "apiKey": [] }, { "bearer": [] }],
    });
    let mut response = Json(card).into_response();
    // Drawn from the request's host when PUBLIC_URL is unset: caches must key on it.
    response
        .headers_mut()
        .insert(VARY, HeaderValue::from_static("host"));
    Ok(response)
}

/// `http(s)://<host>` of the request (HTTP/2's authority, else `Host`), the scheme taken from
/// `X-Forwarded-Proto` when a proxy set it. A host that is not a plain `name[:port]` (user info,
/// a path, a query) is not echoed: `localhost` stands in.
fn request_base(uri: &Uri, headers: &HeaderMap) -> String {
    let host = uri
        .authority()
        .map(|authority| authority.as_str().to_owned())
        .or_else(|| {
            headers
                .get(HOST)
                .and_then(|host| host.to_str().ok())
                .map(str::to_owned)
        })
        .filter(|host| is_plain_host(host))
        .unwrap_or_else(|| "localhost".to_owned());
    let scheme = match headers
        .get("x-forwarded-proto")
        .and_then(|proto| proto.to_str().ok())
    {
        Some("https") => "https",
        _ => "http",
    };
    format!("{scheme}://{host}")
}

fn is_plain_host(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 255
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_plain_host_is_echoed() {
        let with_host = |host: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(HOST, HeaderValue::from_str(host).expect("a header"));
            request_base(&Uri::from_static("/.well-known/agent-card.json"), &headers)
        };
        assert_eq!(with_host("gpu.example.com:8080"), "http://gpu.example.com:8080");
        assert_eq!(with_host("[::1]:8080"), "http://[::1]:8080");
        assert_eq!(with_host("gpu.example.com@evil.com"), "http://localhost");
        assert_eq!(with_host("evil.com/x?"), "http://localhost");
    }
}
