//! vast.ai authentication: `Authorization: Bearer <key>`, or the legacy `?api_key=<key>`.

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::header;

use crate::state::ProviderContext;
use crate::vastai::errors::VastError;

/// Passes requests carrying the configured key and answers 401 to the rest.
pub(crate) async fn require_api_key(
    State(context): State<ProviderContext>,
    request: Request,
    next: Next,
) -> Response {
    let expected = context.state.config.vastai_api_key.as_str();
    let bearer = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, key)| key.trim());
    let query_key = request
        .uri()
        .query()
        .into_iter()
        .flat_map(|query| query.split('&'))
        .filter_map(|pair| pair.split_once('='))
        .find(|(name, _)| *name == "api_key")
        .map(|(_, key)| key);
    if bearer == Some(expected) || query_key == Some(expected) {
        next.run(request).await
    } else {
        VastError::invalid_user_key().into_response()
    }
}
