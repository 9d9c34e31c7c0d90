//! `GET /agent/discover`: who this agent is, the protocols it speaks and where, and what it can do.

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use crate::Error;
use crate::agent_actions::AgentActions;
use crate::agent_protocols::AGENT_NAME;
use crate::error::ErrorBody;

/// The protocols, their endpoints, and every action with its aliases and effects. Needs no
/// credentials; every endpoint it names does.
#[utoipa::path(get, path = "/agent/discover", tag = "agents",
    responses(
        (status = 200, description = "`{agent, version, authentication, protocols: [{name, endpoint}], actions: [{name, description, aliases, read_only, spends_money, destructive}]}`", body = Value),
        (status = 503, description = "The agents service is unavailable (SERVICE_UNAVAILABLE)", body = ErrorBody),
    ))]
pub async fn discover(State(actions): State<AgentActions>) -> Result<Json<Value>, Error> {
    let catalog = actions.catalog().await?;
    let actions: Vec<Value> = catalog
        .iter()
        .map(|action| {
            json!({
                "name": action.name,
                "description": action.description,
                "aliases": action.aliases,
                "read_only": action.read_only,
                "spends_money": action.spends_money,
                "destructive": action.destructive,
            })
        })
        .collect();
    Ok(Json(json!({
        "agent": AGENT_NAME,
        "version": env!("CARGO_PKG_VERSION"),
        "authentication": ["X-API-Key: <key>", "Authorization: Bearer <jwt>"],
        "protocols": [
            {"name": "mcp", "endpoint": "/api/v1/mcp", "versions": ["2025-11-25", "2026-07-28"]},
            {"name": "a2a", "endpoint": "/api/v1/a2a"},
            {"name": "acp", "endpoint": "/api/v1/acp"},
            {"name": "fipa", "endpoint": "/api/v1/fipa"},
            {"name": "kqml", "endpoint": "/api/v1/kqml"},
            {"name": "langchain", "endpoint": "/api/v1/langchain", "tools": "/api/v1/langchain/tools"},
            {"name": "agent", "endpoint": "/api/v1/agent", "detects": ["a2a", "acp", "fipa", "kqml", "langchain"]},
        ],
        "actions": actions,
    })))
}
