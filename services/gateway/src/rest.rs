//! The REST API: routes, middleware order, and the OpenAPI document generated from the handlers.

mod admin;
mod admin_guardrails;
mod auth;
mod auto_renew;
mod billing;
mod cors;
pub(crate) mod credits;
mod dispatch;
pub mod envelope;
mod export;
mod front_line;
mod front_line_responses;
mod gpu;
mod guardrails;
mod instances;
pub mod json_body;
mod load_balancer;
pub(crate) mod middleware;
mod models;
mod open_inference;
mod ops;
pub(crate) mod principal;
mod query_params;
mod reservations;
mod tensors;
mod timestamps;
mod user_lookup;
mod webhooks;
mod ws;

use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::response::IntoResponse;
use axum::{Extension, Router};
use gpuproxy_errors::ErrorCode;
use http::Method;
use tower_http::cors::CorsLayer;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;

use crate::config::CorsOrigins;
use crate::rest::front_line::front_line;
use crate::{AppState, Error};

pub use auth::{LoginDto, UserDto};
pub use dispatch::RestService;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "GPU Proxy",
        description = "One front door to rented GPUs. Authenticate with `X-API-Key: <key>` or \
                       `Authorization: Bearer <jwt>`. Success bodies are `{\"data\", \"status\": \"success\"}` \
                       (lists add `count`); errors are `{\"error\", \"code\"}` with the HTTP status of the code."
    ),
    paths(crate::data_plane::route::route, crate::data_plane::proxy_ws::proxy_ws, ws::events_ws, crate::mcp::mcp, crate::mcp::mcp_stream, crate::mcp::mcp_end),
    modifiers(&SecuritySchemes),
    tags(
        (name = "auth", description = "Accounts, logins and API keys"),
        (name = "admin", description = "Routes for admins"),
        (name = "gpu", description = "GPU offers of vast.ai and io.net, rented instances, reservations and proxying"),
        (name = "billing", description = "Credits, usage, payments and the processors' webhooks"),
        (name = "guardrails", description = "Spending limits over 17 sliding windows"),
        (name = "export", description = "Account and user data, streamed as one JSON document"),
        (name = "events", description = "Live events over the WebSocket /ws"),
        (name = "webhooks", description = "Signed deliveries of events to users' URLs, with retries and a dead-letter"),
        (name = "agents", description = "MCP: the actions an AI assistant can take, as tools"),
        (name = "loadbalancer", description = "Each user's strategy and the load of their instances"),
        (name = "operations", description = "Health, metrics and this document"),
    )
)]
struct ApiDoc;

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("X-API-Key"))),
        );
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

/// Returns the REST API with its middleware, ready to serve: the streaming route
/// (`/api/v1/gpu/route/{*path}`, in the OpenAPI document through [`ApiDoc`]) beside the router of
/// every other route.
pub fn service(state: AppState, cors_origins: &CorsOrigins) -> RestService {
    let cors = Arc::new(cors::CorsPolicy::new(cors_origins));
    RestService::new(router(state.clone(), cors.layer()), state, cors)
}

fn router(state: AppState, cors: CorsLayer) -> Router {
    let max_body_bytes = state.max_body_bytes;
    let anonymous = OpenApiRouter::new()
        .nest("/api/v1/auth", auth::anonymous_router())
        .merge(crate::agent_protocols::discovery_router())
        .merge(open_inference::public_router())
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            middleware::limit_anonymous,
        ));
    let authenticated = OpenApiRouter::new()
        .nest("/api/v1/auth", auth::authenticated_router())
        .nest("/api/v1/admin", admin::router())
        .nest("/api/v1/admin/guardrails", admin_guardrails::router())
        .nest("/api/v1/gpu", gpu::router())
        .nest("/api/v1/guardrails", guardrails::router())
        .nest("/api/v1/loadbalancer", load_balancer::router())
        .nest("/api/v1/billing", billing::router())
        .merge(credits::router())
        .merge(auto_renew::router())
        .merge(webhooks::router())
        .merge(export::router())
        .merge(crate::agent_protocols::router())
        .merge(models::router(state.max_upload_bytes))
        .merge(open_inference::router())
        .route_layer(middleware::authenticate(state.clone()));
    let (router, mut document) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(ops::router())
        .route("/ws", axum::routing::get(ws::events_ws))
        .nest("/api/v1/billing", billing::webhook_router())
        .merge(anonymous)
        .merge(authenticated)
        .split_for_parts();
    front_line_responses::add_to(&mut document);
    let document = document.to_pretty_json().unwrap_or_else(|error| {
        tracing::error!(%error, "rendering the OpenAPI document failed");
        "{}".to_owned()
    });

    router
        .merge(state.mcp.router(state.clone()))
        .fallback(|method: Method, uri: http::Uri| async move {
            Error::new(
                ErrorCode::NotFound,
                format!("no route for {method} {}", uri.path()),
            )
            .into_response()
        })
        .method_not_allowed_fallback(|method: Method, uri: http::Uri| async move {
            Error::new(
                ErrorCode::MethodNotAllowed,
                format!("{} does not accept {method}", uri.path()),
            )
            .into_response()
        })
        // One `layer` call for all of them: axum boxes each route anew for every `layer` call, and
        // each box costs a clone and a future per request.
        .layer(
            tower::ServiceBuilder::new()
                .layer(front_line(state.clone()))
                .layer(cors)
                .layer(DefaultBodyLimit::max(max_body_bytes))
                .layer(Extension(OpenApiDocument(Arc::new(document)))),
        )
        .with_state(state)
}

/// The OpenAPI document of every route, rendered once at start-up.
#[derive(Debug, Clone)]
pub struct OpenApiDocument(pub Arc<String>);
