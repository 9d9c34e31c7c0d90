//! The io.net enterprise CaaS API: the minimal subset of spec §10.

mod auth;
mod catalog;
mod deploy;
mod deploy_request;
mod deployments;
mod errors;
mod pool;
mod validation;

use axum::Router;
use axum::middleware::from_fn_with_state;
use axum::routing::{get, post};

pub(crate) use crate::ionet::pool::IonetMarket;

use crate::faults::inject_faults;
use crate::provider::SimProvider;
use crate::recorder::record_request;
use crate::state::{ProviderContext, SharedState};

/// Path prefix of every CaaS route.
const CAAS: &str = "/enterprise/v1/io-cloud/caas";

/// Returns the io.net routes behind recording, faults and auth.
pub(crate) fn router(state: SharedState) -> Router<SharedState> {
    let context = ProviderContext {
        state,
        provider: SimProvider::IoNet,
    };
    Router::new()
        .route(
            &format!("{CAAS}/hardware/max-gpus-per-container"),
            get(catalog::hardware),
        )
        .route(
            &format!("{CAAS}/available-replicas"),
            get(catalog::available_replicas),
        )
        .route(&format!("{CAAS}/price"), get(catalog::price))
        .route(&format!("{CAAS}/deploy"), post(deploy::deploy))
        .route(&format!("{CAAS}/deployments"), get(deployments::list_deployments))
        .route(
            &format!("{CAAS}/deployment/{{deployment_id}}"),
            get(deployments::deployment_detail).delete(deployments::destroy_deployment),
        )
        .route(
            &format!("{CAAS}/deployment/{{deployment_id}}/containers"),
            get(deployments::containers),
        )
        .route_layer(from_fn_with_state(context.clone(), auth::require_api_key))
        .route_layer(from_fn_with_state(context.clone(), inject_faults))
        .route_layer(from_fn_with_state(context, record_request))
}
