//! The vast.ai REST API v0, as far as the spec's fake-server contract (§9) reaches.

mod asks;
mod auth;
mod errors;
mod instance;
mod instances;
mod market;
mod offers;
mod pricing;
mod query;
mod search;

use axum::Router;
use axum::middleware::from_fn_with_state;
use axum::routing::{get, post, put};

pub(crate) use crate::vastai::market::VastMarket;

use crate::faults::inject_faults;
use crate::provider::SimProvider;
use crate::recorder::record_request;
use crate::state::{ProviderContext, SharedState};

/// Returns the vast.ai routes, with their trailing slashes, behind recording, faults and auth.
pub(crate) fn router(state: SharedState) -> Router<SharedState> {
    let context = ProviderContext {
        state,
        provider: SimProvider::VastAi,
    };
    Router::new()
        .route(
            "/api/v0/bundles/",
            post(search::search_by_body).get(search::search_by_query),
        )
        .route("/api/v0/asks/{id}/", put(asks::create_instance))
        .route("/api/v0/instances/", get(instances::list_instances))
        .route(
            "/api/v0/instances/{id}/",
            get(instances::show_instance)
                .put(instances::manage_instance)
                .delete(instances::destroy_instance),
        )
        .route_layer(from_fn_with_state(context.clone(), auth::require_api_key))
        .route_layer(from_fn_with_state(context.clone(), inject_faults))
        .route_layer(from_fn_with_state(context, record_request))
}
