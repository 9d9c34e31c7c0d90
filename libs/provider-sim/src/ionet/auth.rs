//! io.net authentication: the `x-api-key` header.

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::ionet::errors::IonetError;
use crate::state::ProviderContext;

/// Passes requests carrying the configured key and answers 401 to the rest.
pub(crate) async fn require_api_key(
    State(context): State<ProviderContext>,
    request: Request,
    next: Next,
) -> Response {
    let key = request
        .headers()
        .get("x-api-key")
        .and_then(|value| value.to_str().ok());
    if key == Some(context.state.config.ionet_api_key.as_str()) {
        next.run(request).await
    } else {
        IonetError::invalid_api_key().into_response()
    }
}
