//! DNS-rebinding defence: a browser page may call MCP only from an allowed origin.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use gpuproxy_errors::ErrorCode;
use http::header::ORIGIN;

use crate::Error;

/// Refuses a request whose `Origin` is not in `allowed` with 403 `FORBIDDEN`. Requests without an
/// `Origin` (every non-browser client) pass.
pub async fn check_origin(State(allowed): State<Arc<[String]>>, request: Request, next: Next) -> Response {
    if let Some(origin) = request.headers().get(ORIGIN) {
        let origin = origin.to_str().unwrap_or_default().trim_end_matches('/');
        if !allowed.iter().any(|allowed| allowed.eq_ignore_ascii_case(origin)) {
            return Error::new(
                ErrorCode::Forbidden,
                format!("the origin {origin:?} may not call MCP (see MCP_ALLOWED_ORIGINS)"),
            )
            .into_response();
        }
    }
    next.run(request).await
}
