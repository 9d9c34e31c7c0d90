//! Listing GPU offers: the parameters every front shares, checked here before the catalog checks
//! the rest, and the seed's `GPUInstance` every front shows an offer as.

use gpuproxy_errors::ErrorCode;
use gpuproxy_proto::gpuproxy::catalog::v1 as catalog;
use gpuproxy_proto::gpuproxy::v1 as public;

use crate::Error;
use crate::operations::Operations;

impl Operations {
    /// Lists the offers `params` asks for: one page, with its number and size, the total and the
    /// providers' warnings.
    pub async fn list_offers(&self, params: &OfferParams) -> Result<catalog::ListOffersResponse, Error> {
        let request = params.to_request()?;
        self.call(self.catalog.clone().list_offers(request)).await
    }
}

/// Listing parameters as REST and gRPC receive them (0 / empty = unset).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OfferParams {
    /// `vast.ai`, `io.net`, `all` or empty.
    pub provider: String,
    /// GB.
    pub min_vram: f64,
    /// USD per hour.
    pub max_price: f64,
    /// Substring of the model.
    pub gpu_model: String,
    /// Country code or substring.
    pub location: String,
    /// Exact GPU count.
    pub num_gpus: i32,
    /// Sort key.
    pub sort: String,
    /// `asc` or `desc`.
    pub order: String,
    /// 1-based.
    pub page: i32,
    /// Page size.
    pub page_size: i32,
}

impl OfferParams {
    /// Converts to the catalog's request, refusing what only the gateway can judge (the catalog
    /// judges the rest, pages included).
    pub fn to_request(&self) -> Result<catalog::ListOffersRequest, Error> {
        let invalid =
            |field: &str, message: &str| Error::new(ErrorCode::ValidationFailed, message).with_field(field);
        if !self.max_price.is_finite() || self.max_price < 0.0 || self.max_price > 1_000_000.0 {
            return Err(invalid(
                "max_price",
                "max_price must be a positive price in USD per hour",
            ));
        }
        let descending = match self.order.trim().to_ascii_lowercase().as_str() {
            "" | "asc" => false,
            "desc" => true,
            _ => return Err(invalid("order", "order must be asc or desc")),
        };
        // A positive bound below a micro-dollar must not round to 0, which means "no bound".
        let max_price_micros = match (self.max_price * 1_000_000.0).round() {
            #[allow(
                clippy::cast_possible_truncation,
                reason = "bounded to a million dollars above"
            )]
            micros if micros >= 1.0 => micros as i64,
            _ if self.max_price > 0.0 => 1,
            _ => 0,
        };
        Ok(catalog::ListOffersRequest {
            filters: Some(catalog::OfferFilters {
                provider: self.provider.clone(),
                min_vram_gb: self.min_vram,
                max_price_micros_per_hour: max_price_micros,
                gpu_model: self.gpu_model.clone(),
                location: self.location.clone(),
                num_gpus: self.num_gpus,
            }),
            limit: self.page_size,
            offset: 0,
            page: self.page,
            sort: self.sort.trim().to_ascii_lowercase(),
            descending,
        })
    }
}

impl From<public::ListGpuInstancesRequest> for OfferParams {
    fn from(request: public::ListGpuInstancesRequest) -> Self {
        OfferParams {
            provider: request.provider,
            min_vram: request.min_vram,
            max_price: request.max_price,
            gpu_model: request.gpu_model,
            location: request.location,
            num_gpus: request.num_gpus,
            sort: request.sort,
            order: request.order,
            page: request.page,
            page_size: request.page_size,
        }
    }
}

/// Converts a catalog offer to the seed's `GPUInstance`: price in USD per hour, `status`
/// `available`, and reliability in `metadata` beside the provider's own fields.
pub fn gpu_instance(offer: catalog::Offer) -> public::GpuInstance {
    let mut metadata = offer.metadata;
    if offer.reliability > 0.0 {
        metadata.insert("reliability".to_owned(), format!("{:.4}", offer.reliability));
    }
    let price_per_hour = crate::money::dollars(offer.price_micros_per_hour);
    public::GpuInstance {
        id: offer.offer_id,
        provider: offer.provider,
        status: "available".to_owned(),
        price_per_hour,
        vram_gb: offer.vram_gb,
        gpu_model: offer.gpu_model,
        num_gpus: offer.num_gpus,
        location: offer.location,
        metadata,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_become_micros_and_bad_values_name_their_field() {
        let params = OfferParams {
            page: 3,
            page_size: 20,
            max_price: 1.5,
            order: "DESC".into(),
            ..OfferParams::default()
        };
        let request = params.to_request().expect("valid");
        assert_eq!((request.limit, request.page), (20, 3));
        assert!(request.descending);
        assert_eq!(
            request.filters.expect("filters").max_price_micros_per_hour,
            1_500_000
        );
        for (params, field) in [
            (
                OfferParams {
                    max_price: -1.0,
                    ..OfferParams::default()
                },
                "max_price",
            ),
            (
                OfferParams {
                    order: "sideways".into(),
                    ..OfferParams::default()
                },
                "order",
            ),
        ] {
            let error = params.to_request().expect_err("refused");
            assert_eq!(error.code(), ErrorCode::ValidationFailed);
            let status = error.into_status();
            assert_eq!(gpuproxy_errors::field_of(&status).as_deref(), Some(field));
        }
    }

    #[test]
    fn offers_show_dollars_and_keep_provider_fields() {
        let offer = catalog::Offer {
            offer_id: "42".into(),
            provider: "vast.ai".into(),
            gpu_model: "RTX 4090".into(),
            vram_gb: 24,
            num_gpus: 1,
            price_micros_per_hour: 450_000,
            location: "California, US".into(),
            reliability: 0.99,
            metadata: [("machine_id".to_owned(), "7".to_owned())].into(),
        };
        let instance = gpu_instance(offer);
        assert!((instance.price_per_hour - 0.45).abs() < 1e-9);
        assert_eq!(instance.status, "available");
        assert_eq!(instance.metadata["machine_id"], "7");
        assert_eq!(instance.metadata["reliability"], "0.9900");
    }
}
