//! `/api/v1/gpu/instances`: the GPU offers of every provider.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, Query, State};
use gpuproxy_errors::ErrorCode;
use serde::Serialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::ErrorBody;
use crate::operations::{OfferParams, Operations, offer_gpu_instance};
use crate::rest::principal::AuthUser;
use crate::{AppState, Error};

/// GPU routes for any authenticated user.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_instances))
        .routes(routes!(
            get_instance,
            super::instances::create_instance,
            super::instances::destroy_instance
        ))
        .merge(super::instances::router())
        .merge(super::reservations::router())
        .merge(crate::data_plane::proxy_route::router())
        .route(
            "/proxy/ws",
            axum::routing::get(crate::data_plane::proxy_ws::proxy_ws),
        )
}

/// A GPU offer (the seed's `GPUInstance`).
#[derive(Debug, Serialize, ToSchema)]
pub struct GpuInstanceDto {
    /// The provider's offer id.
    #[schema(example = "12345678")]
    pub id: String,
    /// `vast.ai` or `io.net`.
    #[schema(example = "vast.ai")]
    pub provider: String,
    /// `available`.
    #[schema(example = "available")]
    pub status: String,
    /// USD per hour for the whole offer (every GPU, fees and the listed disk included).
    #[schema(example = 0.45)]
    pub price_per_hour: f64,
    /// Memory of one GPU, GB.
    #[schema(example = 24)]
    pub vram_gb: i32,
    /// The model as the provider names it.
    #[schema(example = "RTX 4090")]
    pub gpu_model: String,
    /// GPUs in the offer.
    #[schema(example = 1)]
    pub num_gpus: i32,
    /// `Region, CC`.
    #[schema(example = "California, US")]
    pub location: String,
    /// Provider-specific fields (vast.ai machine, CUDA, bandwidth; io.net hardware and location ids).
    pub metadata: BTreeMap<String, String>,
}

impl From<gpuproxy_proto::gpuproxy::v1::GpuInstance> for GpuInstanceDto {
    fn from(instance: gpuproxy_proto::gpuproxy::v1::GpuInstance) -> Self {
        GpuInstanceDto {
            id: instance.id,
            provider: instance.provider,
            status: instance.status,
            price_per_hour: instance.price_per_hour,
            vram_gb: instance.vram_gb,
            gpu_model: instance.gpu_model,
            num_gpus: instance.num_gpus,
            location: instance.location,
            metadata: instance.metadata.into_iter().collect(),
        }
    }
}

/// A page of offers: `{"data": [...], "count", "total", "page", "page_size", "warnings", "status"}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct OfferPage {
    /// The offers of this page.
    pub data: Vec<GpuInstanceDto>,
    /// Offers in this page.
    pub count: usize,
    /// Offers matching the filters, every page together.
    pub total: i32,
    /// This page (1-based).
    pub page: i32,
    /// The page size.
    pub page_size: i32,
    /// One line per provider whose offers are missing or stale (timed out, failing, breaker open);
    /// the listing holds the others' offers.
    pub warnings: Vec<String>,
    /// Always `success`.
    #[schema(example = "success")]
    pub status: &'static str,
}

/// `{"data": {offer}, "status": "success"}`. Unlike other single objects, the offer is not repeated
/// at the top level: its own `status` (`available`) would collide with the envelope's.
#[derive(Debug, Serialize, ToSchema)]
pub struct OfferEnvelope {
    /// The offer.
    pub data: GpuInstanceDto,
    /// Always `success`.
    #[schema(example = "success")]
    pub status: &'static str,
}

/// Filters, sort and page. Every parameter is optional.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(
    dead_code,
    reason = "documents the parameters; the handler parses them by hand to name the bad one"
)]
pub struct OfferQuery {
    /// `vast.ai`, `io.net` or `all` (default).
    #[param(example = "all")]
    provider: Option<String>,
    /// Minimum VRAM per GPU, GB.
    #[param(example = 24)]
    min_vram: Option<f64>,
    /// Maximum USD per hour for the whole offer.
    #[param(example = 1.5)]
    max_price: Option<f64>,
    /// Case-insensitive substring of the model, e.g. `4090`.
    #[param(example = "4090")]
    gpu_model: Option<String>,
    /// A two-letter country code (exact) or a substring of the location.
    #[param(example = "US")]
    location: Option<String>,
    /// Exact number of GPUs.
    #[param(example = 1)]
    num_gpus: Option<i32>,
    /// `price` (default), `vram`, `num_gpus`, `reliability`, `gpu_model` or `location`.
    #[param(example = "price")]
    sort: Option<String>,
    /// `asc` (default) or `desc`.
    #[param(example = "asc")]
    order: Option<String>,
    /// 1-based page (default 1).
    #[param(example = 1)]
    page: Option<i32>,
    /// 1–500 (default 50).
    #[param(example = 50)]
    page_size: Option<i32>,
}

fn parse_params(pairs: Vec<(String, String)>) -> Result<OfferParams, Error> {
    fn number<T: std::str::FromStr>(field: &str, value: &str, what: &str) -> Result<T, Error> {
        value.trim().parse().map_err(|_| {
            Error::new(ErrorCode::ValidationFailed, format!("{field} must be {what}")).with_field(field)
        })
    }
    let mut params = OfferParams::default();
    for (name, value) in pairs {
        match name.as_str() {
            "provider" => params.provider = value,
            "min_vram" => params.min_vram = number("min_vram", &value, "a number of GB")?,
            "max_price" => {
                params.max_price = number("max_price", &value, "a price in USD per hour")?;
                // An explicit 0 would mean "no bound" on the wire; as a bound it admits nothing.
                if params.max_price == 0.0 {
                    return Err(
                        Error::new(ErrorCode::ValidationFailed, "max_price must be greater than 0")
                            .with_field("max_price"),
                    );
                }
            }
            "gpu_model" => params.gpu_model = value,
            "location" => params.location = value,
            "num_gpus" => params.num_gpus = number("num_gpus", &value, "a whole number")?,
            "sort" => params.sort = value,
            "order" => params.order = value,
            "page" => params.page = number("page", &value, "a whole number")?,
            "page_size" | "limit" => params.page_size = number("page_size", &value, "a whole number")?,
            _ => {}
        }
    }
    Ok(params)
}

/// Lists GPU offers of every provider, cheapest first. A provider that fails or is slow is named
/// in `warnings` and the others' offers are listed regardless.
#[utoipa::path(get, path = "/instances", tag = "gpu", params(OfferQuery), security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 200, description = "A page of offers", body = OfferPage),
        (status = 400, description = "A bad filter (VALIDATION_FAILED, with `field`)", body = ErrorBody),
        (status = 401, description = "Missing or invalid credentials", body = ErrorBody),
    ))]
async fn list_instances(
    State(operations): State<Operations>,
    AuthUser(_user): AuthUser,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Json<OfferPage>, Error> {
    let params = parse_params(pairs)?;
    let listing = operations.list_offers(&params).await?;
    let data: Vec<GpuInstanceDto> = listing
        .offers
        .into_iter()
        .map(|offer| GpuInstanceDto::from(offer_gpu_instance(offer)))
        .collect();
    Ok(Json(OfferPage {
        count: data.len(),
        data,
        total: listing.total_count,
        page: listing.page,
        page_size: listing.page_size,
        warnings: listing.warnings,
        status: "success",
    }))
}

/// Returns one of the caller's rented instances by its instance id (status `running`, …, with
/// `contract_id` and `endpoint` in its metadata); otherwise one offer, looked up at the provider
/// when it is not cached.
#[utoipa::path(get, path = "/instances/{provider}/{instance_id}", tag = "gpu",
    params(("provider" = String, Path, description = "`vast.ai` or `io.net`"),
           ("instance_id" = String, Path, description = "The offer id from the listing")),
    security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 200, description = "The offer", body = OfferEnvelope),
        (status = 400, description = "Unknown provider (VALIDATION_FAILED)", body = ErrorBody),
        (status = 404, description = "No such offer (NOT_FOUND)", body = ErrorBody),
        (status = 502, description = "The provider failed (PROVIDER_UNAVAILABLE)", body = ErrorBody),
    ))]
async fn get_instance(
    State(operations): State<Operations>,
    AuthUser(user): AuthUser,
    Path((provider, instance_id)): Path<(String, String)>,
) -> Result<Json<OfferEnvelope>, Error> {
    let found = operations.instance_or_offer(&user, provider, instance_id).await?;
    Ok(Json(OfferEnvelope {
        data: GpuInstanceDto::from(found),
        status: "success",
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
        items
            .iter()
            .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
            .collect()
    }

    #[test]
    fn numbers_that_are_not_numbers_name_their_field() {
        for (name, value) in [
            ("max_price", "abc"),
            ("min_vram", "lots"),
            ("num_gpus", "1.5"),
            ("page", "x"),
        ] {
            let error = parse_params(pairs(&[(name, value)])).expect_err("refused");
            assert_eq!(error.code(), ErrorCode::ValidationFailed);
            assert!(error.to_string().starts_with(name), "{error}");
        }
        let params = parse_params(pairs(&[
            ("min_vram", "16"),
            ("max_price", "1.5"),
            ("limit", "10"),
        ]))
        .expect("valid");
        assert_eq!(
            (params.min_vram, params.max_price, params.page_size),
            (16.0, 1.5, 10)
        );
    }
}
