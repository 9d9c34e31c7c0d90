//! `GET /v1/charges/{id}`.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::afterdark::auth;
use crate::afterdark::errors::AfterDarkError;
use crate::afterdark::shared::AfterDarkShared;

/// Handles `GET /v1/charges/{id}`: the charge, or `404 not_found`.
pub(crate) async fn get_charge(
    State(after_dark): State<Arc<AfterDarkShared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Err(error) = auth::check(&headers, &after_dark.api_key) {
        return error.into_response();
    }
    let state = after_dark.state();
    match state.charges.iter().find(|charge| charge.id == id) {
        Some(charge) => Json(charge.to_json()).into_response(),
        None => AfterDarkError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no such charge: {id}"),
        )
        .into_response(),
    }
}
