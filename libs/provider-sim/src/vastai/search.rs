//! `POST /api/v0/bundles/` and `GET /api/v0/bundles/?q=`: searching offers (spec §2).

use std::collections::HashMap;

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http::header;
use serde_json::{Map, Value, json};

use crate::provider::SimProvider;
use crate::state::{SharedState, lock};
use crate::vastai::asks::parse_body;
use crate::vastai::errors::VastError;
use crate::vastai::pricing::PricedOffer;
use crate::vastai::query::SearchQuery;

/// Searches with the query object as the JSON body (what the SDK sends).
pub(crate) async fn search_by_body(
    State(state): State<SharedState>,
    body: Bytes,
) -> Result<Response, VastError> {
    let query = parse_body(&body)?;
    search(&state, &Value::Object(query))
}

/// Searches with the query object URL-encoded in `q` (the older form).
pub(crate) async fn search_by_query(
    State(state): State<SharedState>,
    params: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Response, VastError> {
    let Query(params) = params.map_err(|rejection| VastError::invalid_request(rejection.body_text()))?;
    let query = match params.get("q") {
        None => Value::Object(Map::new()),
        Some(q) => serde_json::from_str(q).map_err(|_| VastError::invalid_json_body())?,
    };
    search(&state, &query)
}

fn search(state: &SharedState, query: &Value) -> Result<Response, VastError> {
    let query = SearchQuery::parse(query).map_err(|error| VastError::invalid_request(error.to_string()))?;
    if state.faults(SimProvider::VastAi).capacity_exhausted {
        return Ok(Json(json!({"offers": []})).into_response());
    }
    let market = lock(&state.vastai);
    let mut offers: Vec<PricedOffer<'_>> = market
        .listed_offers()
        .map(|offer| PricedOffer::new(offer, query.pricing))
        .filter(|offer| query.matches(offer))
        .collect();
    query.sort(&mut offers);
    offers.truncate(query.limit);
    // Written under the lock because the offers borrow the market.
    let mut body = Vec::with_capacity(offers.len().saturating_mul(2048) + 16);
    body.extend_from_slice(b"{\"offers\":[");
    for (index, offer) in offers.iter().enumerate() {
        if index > 0 {
            body.push(b',');
        }
        offer.write_json(&mut body).map_err(|error| {
            tracing::error!(%error, "serializing offers failed");
            VastError::server_error("could not serialize the offers")
        })?;
    }
    body.extend_from_slice(b"]}");
    // Exactly `application/json`: the official CLI rejects anything else (spec §2.2).
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}
