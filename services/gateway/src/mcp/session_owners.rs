//! A handshake-era MCP session belongs to the user who opened it: a request naming another user's
//! session is answered as if the session did not exist, so a session id that leaks (a log, a
//! proxy) gives nobody else its stream or its place in the protocol.

use std::time::Duration;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use gpuproxy_domain::{Principal, UserId};
use gpuproxy_errors::ErrorCode;
use http::HeaderName;

use crate::Error;

/// The header rmcp names sessions in.
const SESSION: HeaderName = HeaderName::from_static("mcp-session-id");

/// Sessions left idle this long are forgotten; rmcp ends them sooner (its keep-alive is 5 minutes).
const IDLE: Duration = Duration::from_secs(3600);

/// Sessions remembered at most: a bound on memory whatever callers do.
const MAX_SESSIONS: u64 = 100_000;

/// Who opened each session of this gateway.
#[derive(Debug, Clone)]
pub struct SessionOwners {
    owners: moka::future::Cache<String, UserId>,
}

impl Default for SessionOwners {
    fn default() -> Self {
        SessionOwners {
            owners: moka::future::Cache::builder()
                .max_capacity(MAX_SESSIONS)
                .time_to_idle(IDLE)
                .build(),
        }
    }
}

/// Refuses a request naming a session that is not the caller's (404 `NOT_FOUND`, as rmcp answers
/// an unknown one), and records who opened each new session.
pub async fn bind_sessions(State(owners): State<SessionOwners>, request: Request, next: Next) -> Response {
    let Some(user) = request
        .extensions()
        .get::<std::sync::Arc<Principal>>()
        .map(|principal| principal.user_id)
    else {
        return next.run(request).await;
    };
    let named = request
        .headers()
        .get(&SESSION)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    if let Some(session) = &named
        && owners.owners.get(session).await != Some(user)
    {
        return Error::new(ErrorCode::NotFound, "no such MCP session; initialize a new one").into_response();
    }
    let response = next.run(request).await;
    if named.is_none()
        && let Some(opened) = response
            .headers()
            .get(&SESSION)
            .and_then(|value| value.to_str().ok())
    {
        owners.owners.insert(opened.to_owned(), user).await;
    }
    response
}
