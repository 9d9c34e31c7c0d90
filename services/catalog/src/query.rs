//! A listing query: validated filters, sort order and page, applied to cached offers.

use std::cmp::Ordering;

use gpuproxy_domain::{Provider, UsdMicros};
use gpuproxy_proto::gpuproxy::catalog::v1 as pb;

use crate::error::Error;
use crate::offer::Offer;

/// The page size when the caller gives none.
pub const DEFAULT_PAGE_SIZE: usize = 50;
/// The largest page: bigger pages are refused rather than silently cut, so a client never mistakes
/// a truncated page for the whole market.
pub const MAX_PAGE_SIZE: usize = 500;
/// The last page a caller may ask for, so that page × size cannot overflow.
pub const MAX_PAGE: usize = 100_000;
/// Longest accepted text filter.
const MAX_TEXT_FILTER: usize = 64;

/// What to sort by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    /// Price per hour (the default).
    Price,
    /// VRAM per GPU.
    Vram,
    /// GPUs in the offer.
    NumGpus,
    /// Reliability.
    Reliability,
    /// GPU model, alphabetically.
    GpuModel,
    /// Location, alphabetically.
    Location,
}

impl SortKey {
    fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "" | "price" | "price_per_hour" => SortKey::Price,
            "vram" | "vram_gb" => SortKey::Vram,
            "num_gpus" | "gpus" => SortKey::NumGpus,
            "reliability" => SortKey::Reliability,
            "gpu_model" | "model" => SortKey::GpuModel,
            "location" => SortKey::Location,
            _ => return None,
        })
    }

    fn compare(self, a: &Offer, b: &Offer) -> Ordering {
        match self {
            SortKey::Price => a.price_per_hour.cmp(&b.price_per_hour),
            SortKey::Vram => a.vram_gb.cmp(&b.vram_gb),
            SortKey::NumGpus => a.num_gpus.cmp(&b.num_gpus),
            SortKey::Reliability => a.reliability.total_cmp(&b.reliability),
            SortKey::GpuModel => a.gpu_model_lower.cmp(&b.gpu_model_lower),
            SortKey::Location => a.location_lower.cmp(&b.location_lower),
        }
    }
}

/// A validated listing query.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    /// `None` for every provider.
    pub provider: Option<Provider>,
    /// Minimum VRAM per GPU, GB.
    pub min_vram_gb: f64,
    /// Maximum price per hour.
    pub max_price: Option<UsdMicros>,
    /// Lower-case substring of the GPU model.
    pub gpu_model: Option<String>,
    /// An upper-case country code, or a lower-case substring of the location.
    pub location: Option<LocationFilter>,
    /// Exact GPU count.
    pub num_gpus: Option<i32>,
    /// Sort key.
    pub sort: SortKey,
    /// Descending order.
    pub descending: bool,
    /// Page size.
    pub limit: usize,
    /// Offers to skip.
    pub offset: usize,
}

/// How a location filter matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LocationFilter {
    /// A two-letter code matches the country exactly (`US` must not match `Russia` or `Australia`).
    Country(String),
    /// Anything longer matches a substring of the location, case-insensitively.
    Contains(String),
}

impl Default for Query {
    fn default() -> Self {
        Query {
            provider: None,
            min_vram_gb: 0.0,
            max_price: None,
            gpu_model: None,
            location: None,
            num_gpus: None,
            sort: SortKey::Price,
            descending: false,
            limit: DEFAULT_PAGE_SIZE,
            offset: 0,
        }
    }
}

impl Query {
    /// Validates the internal API's request.
    pub fn from_proto(request: &pb::ListOffersRequest) -> Result<Self, Error> {
        let filters = request.filters.clone().unwrap_or_default();
        let mut query = Query {
            provider: parse_provider(&filters.provider)?,
            ..Query::default()
        };
        if !filters.min_vram_gb.is_finite() || filters.min_vram_gb < 0.0 || filters.min_vram_gb > 10_000.0 {
            return Err(Error::invalid(
                "min_vram",
                "must be a number of GB between 0 and 10000",
            ));
        }
        query.min_vram_gb = filters.min_vram_gb;
        query.max_price = match filters.max_price_micros_per_hour {
            0 => None,
            micros if micros < 0 => {
                return Err(Error::invalid(
                    "max_price",
                    "must be a positive price in USD per hour",
                ));
            }
            micros => Some(UsdMicros::from_micros(micros)),
        };
        query.gpu_model = text_filter("gpu_model", &filters.gpu_model)?;
        query.location = text_filter("location", &filters.location)?.map(|text| {
            if text.len() == 2 && text.bytes().all(|byte| byte.is_ascii_alphabetic()) {
                LocationFilter::Country(text.to_ascii_uppercase())
            } else {
                LocationFilter::Contains(text)
            }
        });
        query.num_gpus = match filters.num_gpus {
            0 => None,
            count @ 1..=64 => Some(count),
            _ => return Err(Error::invalid("num_gpus", "must be between 1 and 64")),
        };
        query.sort = SortKey::parse(request.sort.trim()).ok_or_else(|| {
            Error::invalid(
                "sort",
                "must be one of price, vram, num_gpus, reliability, gpu_model, location",
            )
        })?;
        query.descending = request.descending;
        query.limit = match usize::try_from(request.limit) {
            Ok(0) => DEFAULT_PAGE_SIZE,
            Ok(limit) if limit <= MAX_PAGE_SIZE => limit,
            _ => {
                return Err(Error::invalid(
                    "page_size",
                    format!("must be between 1 and {MAX_PAGE_SIZE}"),
                ));
            }
        };
        // Past the last offer the page is empty, as for any other page beyond the end.
        let offset =
            usize::try_from(request.offset).map_err(|_| Error::invalid("offset", "must be 0 or more"))?;
        query.offset = match usize::try_from(request.page) {
            Ok(0) => offset,
            Ok(page) if page <= MAX_PAGE && offset == 0 => (page - 1) * query.limit,
            Ok(page) if page <= MAX_PAGE => {
                return Err(Error::invalid("page", "cannot be given with an offset"));
            }
            _ => {
                return Err(Error::invalid(
                    "page",
                    format!("must be between 1 and {MAX_PAGE}"),
                ));
            }
        };
        Ok(query)
    }

    /// Returns the 1-based page this query serves.
    pub fn page(&self) -> usize {
        self.offset / self.limit + 1
    }

    /// Returns whether `offer` passes every filter (the provider included).
    pub fn matches(&self, offer: &Offer) -> bool {
        self.provider.is_none_or(|provider| provider == offer.provider)
            && f64::from(offer.vram_gb) >= self.min_vram_gb
            && self.max_price.is_none_or(|max| offer.price_per_hour <= max)
            && self.num_gpus.is_none_or(|count| offer.num_gpus == count)
            && self
                .gpu_model
                .as_ref()
                .is_none_or(|model| offer.gpu_model_lower.contains(model.as_str()))
            && self.location.as_ref().is_none_or(|location| match location {
                LocationFilter::Country(code) => offer.country == *code,
                LocationFilter::Contains(text) => offer.location_lower.contains(text.as_str()),
            })
    }

    /// Filters, sorts and pages `offers`; returns the page and how many matched in all.
    pub fn apply<'a>(&self, offers: impl Iterator<Item = &'a Offer>) -> (Vec<&'a Offer>, usize) {
        let mut matching: Vec<&Offer> = offers.filter(|offer| self.matches(offer)).collect();
        let total = matching.len();
        // Ties break on provider and id so that pages are stable between calls.
        matching.sort_by(|a, b| {
            let primary = self.sort.compare(a, b);
            let primary = if self.descending {
                primary.reverse()
            } else {
                primary
            };
            primary
                .then_with(|| a.provider.cmp(&b.provider))
                .then_with(|| a.offer_id.cmp(&b.offer_id))
        });
        let page = matching.into_iter().skip(self.offset).take(self.limit).collect();
        (page, total)
    }
}

/// Parses a provider filter: empty or `all` for every provider.
pub fn parse_provider(text: &str) -> Result<Option<Provider>, Error> {
    let text = text.trim();
    if text.is_empty() || text.eq_ignore_ascii_case("all") {
        return Ok(None);
    }
    text.parse()
        .map(Some)
        .map_err(|_| Error::invalid("provider", "must be vast.ai, io.net or all"))
}

fn text_filter(field: &'static str, text: &str) -> Result<Option<String>, Error> {
    let text = text.trim();
    if text.len() > MAX_TEXT_FILTER {
        return Err(Error::invalid(
            field,
            format!("must be at most {MAX_TEXT_FILTER} characters"),
        ));
    }
    Ok((!text.is_empty()).then(|| text.to_lowercase()))
}

#[cfg(test)]
mod tests;
