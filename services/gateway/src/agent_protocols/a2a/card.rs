//! `GET /.well-known/agent-card.json`: who this agent is to A2A clients, its skills drawn from the
//! action catalog, where it listens (`PUBLIC_URL`, or the host the request was sent to) and how
//! to authenticate.

use axum::Json;
use axum::extract::State;
use http::HeaderMap;
use http::header::HOST;
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
pub async fn agent_card(State(state): State<AppState>, headers: HeaderMap) -> Result<Json<Value>, Error> {
    let catalog = state.agents.catalog().await?;
    let base = match &state.public_url {
        Some(url) => url.to_string(),
        None => request_base(&headers),
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
    Ok(Json(json!({
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
        "securitySchemes": {
            "apiKey": { "apiKeySecurityScheme": { "location": "header", "name": "X-API-Key", "description": "An API key of GPU Proxy" } },
            "bearer": { "httpAuthSecurityScheme": { "scheme": "Bearer", "bearerFormat": "JWT", "description": "A session token from POST /api/v1/auth/login" } },
        },
        "securityRequirements": [
            { "schemes": { "apiKey": { "list": [] } } },
            { "schemes": { "bearer": { "list": [] } } },
        ],
        "defaultInputModes": ["application/json", "text/plain"],
        "defaultOutputModes": ["application/json", "text/plain"],
        "skills": skills,
    })))
}

/// `http(s)://<Host>` of the request, the scheme taken from `X-Forwarded-Proto` when a proxy set it.
fn request_base(headers: &HeaderMap) -> String {
    let host = headers
        .get(HOST)
        .and_then(|host| host.to_str().ok())
        .filter(|host| !host.is_empty() && host.chars().all(|c| c.is_ascii_graphic()))
        .unwrap_or("localhost");
    let scheme = match headers
        .get("x-forwarded-proto")
        .and_then(|proto| proto.to_str().ok())
    {
        Some("https") => "https",
        _ => "http",
    };
    format!("{scheme}://{host}")
}
