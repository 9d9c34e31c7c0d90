//! `list_gpu_instances`: the catalog's offers.

use gpuproxy_proto::gpuproxy::catalog::v1 as catalog;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::ActionError;
use crate::actions::{Actions, OfferFilterFields, dollars, offer_filters};

/// Which offers to list; unset fields do not filter.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OffersInput {
    /// `vast.ai`, `io.net` or `all` (the default).
    #[serde(default)]
    pub provider: Option<String>,
    /// Part of the GPU model's name, e.g. `4090`.
    #[serde(default)]
    pub gpu_model: Option<String>,
    /// Least VRAM per GPU, GB.
    #[serde(default, alias = "min_vram")]
    pub min_vram_gb: Option<f64>,
    /// Highest price, USD per hour.
    #[serde(default, alias = "max_price")]
    pub max_price_per_hour: Option<f64>,
    /// A two-letter country code, or part of the location.
    #[serde(default)]
    pub location: Option<String>,
    /// Exactly this many GPUs per offer.
    #[serde(default)]
    pub num_gpus: Option<i32>,
    /// `price` (the default), `vram`, `num_gpus`, `reliability`, `gpu_model` or `location`.
    #[serde(default)]
    pub sort: Option<String>,
    /// Sort from the highest down.
    #[serde(default)]
    pub descending: Option<bool>,
    /// Offers per page (the catalog's default and limit apply).
    #[serde(default)]
    pub page_size: Option<i32>,
    /// 1-based page.
    #[serde(default)]
    pub page: Option<i32>,
}

/// One offer to rent.
#[derive(Debug, Serialize, JsonSchema)]
pub struct OfferOutput {
    /// `vast.ai` or `io.net`.
    pub provider: String,
    /// What `create_gpu_instance` takes as `offer_id`.
    pub offer_id: String,
    /// The GPU model.
    pub gpu_model: String,
    /// VRAM per GPU, GB.
    pub vram_gb: i32,
    /// GPUs in the offer.
    pub num_gpus: i32,
    /// USD per hour.
    pub price_per_hour: f64,
    /// Where it runs.
    pub location: String,
    /// The provider's reliability score, 0–1.
    pub reliability: f64,
}

/// A page of offers.
#[derive(Debug, Serialize, JsonSchema)]
pub struct OffersOutput {
    /// The offers of this page.
    pub offers: Vec<OfferOutput>,
    /// Offers matching the filters, over all pages.
    pub total_count: i32,
    /// This page, 1-based.
    pub page: i32,
    /// Offers per page.
    pub page_size: i32,
    /// Providers that could not be asked; their offers are missing.
    pub degraded_providers: Vec<String>,
}

impl Actions {
    pub(super) async fn list_offers(&self, input: OffersInput) -> Result<OffersOutput, ActionError> {
        let request = catalog::ListOffersRequest {
            filters: Some(offer_filters(OfferFilterFields {
                provider: input.provider,
                gpu_model: input.gpu_model,
                min_vram_gb: input.min_vram_gb,
                max_price_per_hour: input.max_price_per_hour,
                location: input.location,
                num_gpus: input.num_gpus,
            })?),
            limit: input.page_size.unwrap_or(0),
            offset: 0,
            sort: input.sort.unwrap_or_default().trim().to_ascii_lowercase(),
            descending: input.descending.unwrap_or(false),
            page: input.page.unwrap_or(0),
        };
        let listed = self.call_owner(self.catalog.clone().list_offers(request)).await?;
        Ok(OffersOutput {
            offers: listed.offers.into_iter().map(offer).collect(),
            total_count: listed.total_count,
            page: listed.page,
            page_size: listed.page_size,
            degraded_providers: listed.degraded_providers,
        })
    }
}

fn offer(offer: catalog::Offer) -> OfferOutput {
    OfferOutput {
        provider: offer.provider,
        offer_id: offer.offer_id,
        gpu_model: offer.gpu_model,
        vram_gb: offer.vram_gb,
        num_gpus: offer.num_gpus,
        price_per_hour: dollars(offer.price_micros_per_hour),
        location: offer.location,
        reliability: offer.reliability,
    }
}
