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
    /// Provider-specific fields, as values; [`Offer::metadata_map`] renders them.
    pub metadata: Vec<(&'static str, MetaValue)>,
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
            metadata: Vec::new(),
        }
    }

    /// Returns the offer with `reliability`.
    pub fn with_reliability(mut self, reliability: f64) -> Self {
        self.reliability = reliability;
        self
    }

    /// Adds a metadata entry.
    pub fn with(mut self, key: &'static str, value: impl Into<MetaValue>) -> Self {
        self.metadata.push((key, value.into()));
        self
    }

    /// Returns the provider-specific fields as text.
    pub fn metadata_map(&self) -> BTreeMap<String, String> {
        self.metadata
            .iter()
            .map(|(key, value)| ((*key).to_owned(), value.render()))
            .collect()
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
            metadata: self
                .metadata
                .iter()
                .map(|(key, value)| ((*key).to_owned(), value.render()))
                .collect(),
        }
    }
}

/// One provider-specific field.
#[derive(Debug, Clone, PartialEq)]
pub enum MetaValue {
    /// Text as the provider sent it.
    Text(String),
    /// A measurement, rendered with at most four decimals.
    Number(f64),
    /// A count or an id.
    Integer(i64),
    /// A flag.
    Flag(bool),
}

impl MetaValue {
    /// Renders the value as the APIs show it (`metadata` is a map of strings).
    pub fn render(&self) -> String {
        match self {
            MetaValue::Text(text) => text.clone(),
            MetaValue::Number(number) => {
                let text = format!("{number:.4}");
                text.trim_end_matches('0').trim_end_matches('.').to_owned()
            }
            MetaValue::Integer(number) => number.to_string(),
            MetaValue::Flag(flag) => flag.to_string(),
        }
    }
}

impl From<String> for MetaValue {
    fn from(text: String) -> Self {
        MetaValue::Text(text)
    }
}

impl From<&str> for MetaValue {
    fn from(text: &str) -> Self {
        MetaValue::Text(text.to_owned())
    }
}

impl From<&String> for MetaValue {
    fn from(text: &String) -> Self {
        MetaValue::Text(text.clone())
    }
}

impl From<f64> for MetaValue {
    fn from(number: f64) -> Self {
        MetaValue::Number(number)
    }
}

impl From<i64> for MetaValue {
    fn from(number: i64) -> Self {
        MetaValue::Integer(number)
    }
}

impl From<u64> for MetaValue {
    fn from(number: u64) -> Self {
        MetaValue::Integer(i64::try_from(number).unwrap_or(i64::MAX))
    }
}

impl From<bool> for MetaValue {
    fn from(flag: bool) -> Self {
        MetaValue::Flag(flag)
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
    fn metadata_renders_as_text() {
        assert_eq!(MetaValue::from(24564.0).render(), "24564");
        assert_eq!(MetaValue::from(0.15).render(), "0.15");
        assert_eq!(MetaValue::from(12.345_678).render(), "12.3457");
        assert_eq!(MetaValue::from(true).render(), "true");
        assert_eq!(MetaValue::from(7_u64).render(), "7");
    }

    #[test]
    fn dollars_round_to_the_micro_dollar() {
        assert_eq!(dollars_to_micros(1.6133).micros(), 1_613_300);
        assert_eq!(dollars_to_micros(0.000_000_4).micros(), 0);
        assert_eq!(dollars_to_micros(-1.0).micros(), 0);
        assert_eq!(dollars_to_micros(f64::NAN).micros(), 0);
    }
}
