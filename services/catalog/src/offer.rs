//! One rentable offer, normalised across providers.

use std::collections::BTreeMap;

use gpuproxy_domain::{Provider, UsdMicros};
use gpuproxy_proto::gpuproxy::catalog::v1 as pb;

/// An offer as every provider's is shown: VRAM in GB per GPU, the price per hour in USD for the
/// whole offer (every GPU, fees and storage included), and what only one provider knows in `metadata`.
#[derive(Debug, Clone, PartialEq)]
pub struct Offer {
    /// The marketplace.
    pub provider: Provider,
    /// The provider's id of the offer: vast.ai's ask id, or io.net's `<hardware>-<location>-<gpus>`.
    pub offer_id: String,
    /// The GPU model as the provider names it, e.g. `RTX 4090`.
    pub gpu_model: String,
    /// Memory of one GPU, GB (rounded from the provider's MB or name).
    pub vram_gb: i32,
    /// GPUs in the offer.
    pub num_gpus: i32,
    /// USD per hour for the whole offer.
    pub price_per_hour: UsdMicros,
    /// `Region, CC` (vast.ai) or `Country, CC` (io.net).
    pub location: String,
    /// The two-letter country code, upper case; empty when the provider gave none.
    pub country: String,
    /// 0..1; 0 when the provider publishes none (io.net).
    pub reliability: f64,
    /// Provider-specific fields.
    pub metadata: BTreeMap<String, String>,
    /// Lower-case copies for case-insensitive filters, made once per refresh rather than per query.
    pub(crate) gpu_model_lower: String,
    pub(crate) location_lower: String,
}

impl Offer {
    /// Builds an offer; `location` is `<place>, <CC>` or a bare place.
    pub fn new(
        provider: Provider,
        offer_id: String,
        gpu_model: String,
        vram_gb: i32,
        num_gpus: i32,
        price_per_hour: UsdMicros,
        location: String,
    ) -> Self {
        let country = country_code(&location);
        Offer {
            provider,
            offer_id,
            gpu_model_lower: gpu_model.to_lowercase(),
            location_lower: location.to_lowercase(),
            gpu_model,
            vram_gb,
            num_gpus,
            price_per_hour,
            location,
            country,
            reliability: 0.0,
            metadata: BTreeMap::new(),
        }
    }

    /// Returns the offer with `reliability`.
    pub fn with_reliability(mut self, reliability: f64) -> Self {
        self.reliability = reliability;
        self
    }

    /// Adds a metadata entry.
    pub fn with(mut self, key: &str, value: impl ToString) -> Self {
        self.metadata.insert(key.to_owned(), value.to_string());
        self
    }

    /// Converts to the internal API's message.
    pub fn to_proto(&self) -> pb::Offer {
        pb::Offer {
            offer_id: self.offer_id.clone(),
            provider: self.provider.as_str().to_owned(),
            gpu_model: self.gpu_model.clone(),
            vram_gb: self.vram_gb,
            num_gpus: self.num_gpus,
            price_micros_per_hour: self.price_per_hour.micros(),
            location: self.location.clone(),
            reliability: self.reliability,
            metadata: self.metadata.clone().into_iter().collect(),
        }
    }
}

/// Returns the trailing two-letter country code of `Region, CC`, or of a bare `CC`.
fn country_code(location: &str) -> String {
    let last = location.rsplit(',').next().unwrap_or_default().trim();
    if last.len() == 2 && last.bytes().all(|byte| byte.is_ascii_alphabetic()) {
        last.to_ascii_uppercase()
    } else {
        String::new()
    }
}

/// Converts a provider's dollar amount to micro-dollars, rounding to the nearest micro-dollar.
/// Providers quote prices as JSON floats; this is the one place they become integers.
pub fn dollars_to_micros(dollars: f64) -> UsdMicros {
    if !dollars.is_finite() || dollars < 0.0 {
        return UsdMicros::from_micros(0);
    }
    // Prices are far below i64::MAX micro-dollars (9.2e12 USD), so the cast cannot saturate in practice.
    #[allow(
        clippy::cast_possible_truncation,
        reason = "rounded, and bounded by any real price"
    )]
    UsdMicros::from_micros((dollars * 1_000_000.0).round() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_country_is_the_trailing_code() {
        assert_eq!(country_code("California, US"), "US");
        assert_eq!(country_code("Germany, de"), "DE");
        assert_eq!(country_code("Sweden"), "");
        assert_eq!(country_code(""), "");
    }

    #[test]
    fn dollars_round_to_the_micro_dollar() {
        assert_eq!(dollars_to_micros(1.6133).micros(), 1_613_300);
        assert_eq!(dollars_to_micros(0.000_000_4).micros(), 0);
        assert_eq!(dollars_to_micros(-1.0).micros(), 0);
        assert_eq!(dollars_to_micros(f64::NAN).micros(), 0);
    }
}
