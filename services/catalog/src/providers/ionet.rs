//! The io.net client (IO Cloud CaaS enterprise API, shared/specs/ionet-api.md).
//!
//! io.net lists hardware types, not machines: an offer here is a hardware type in a location with a
//! GPU count, priced by a one-hour quote (§3.3). Hardware types and quotes change slowly and cost a
//! call each, so they are kept for [`REFERENCE_TTL`]; availability is asked afresh at every refresh.

mod deployments;
mod vram;
mod wire;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use gpuproxy_domain::Provider;
use http::{Method, StatusCode};

use crate::error::ProviderError;
use crate::offer::{Offer, dollars_to_micros};
use crate::providers::breaker::BreakerState;
use crate::providers::http::{Call, ProviderHttp, Reply, Retry};

const PROVIDER: Provider = Provider::IoNet;
const CAAS: &str = "/enterprise/v1/io-cloud/caas";
/// How long hardware types and price quotes are reused.
pub const REFERENCE_TTL: Duration = Duration::from_secs(600);
/// GPU counts offered per container.
const GPU_COUNTS: [i64; 4] = [1, 2, 4, 8];
/// The traffic port when the caller names none.
const DEFAULT_PORT: u16 = 8000;

/// A one-hour price for a hardware type and GPU count.
///
/// Asked at one location and applied to every location of that hardware [INF]: the spec documents no
/// per-location prices (its quote takes a list of locations and answers one total), and quoting each
/// location would take a call per offer. `location_id` says where the price was actually quoted.
#[derive(Debug, Clone, Copy)]
struct Quote {
    per_hour: f64,
    location_id: i64,
}

#[derive(Debug, Default)]
struct Reference {
    hardware: Option<(Instant, Arc<Vec<wire::Hardware>>)>,
    /// (hardware, GPUs) → when, USD per hour, and the location the quote was asked for.
    quotes: HashMap<(i64, i64), (Instant, Quote)>,
}

/// Talks to io.net.
#[derive(Debug, Clone)]
pub struct IoNetClient {
    http: ProviderHttp,
    duration_hours: u32,
    reference: Arc<Mutex<Reference>>,
}

/// An io.net offer id: `<hardware_id>-<location_id>-<gpus>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct OfferKey {
    hardware_id: i64,
    location_id: i64,
    gpus: i64,
}

impl OfferKey {
    fn parse(text: &str) -> Option<Self> {
        let mut parts = text.split('-').map(str::parse::<i64>);
        let key = OfferKey {
            hardware_id: parts.next()?.ok()?,
            location_id: parts.next()?.ok()?,
            gpus: parts.next()?.ok()?,
        };
        (parts.next().is_none() && key.gpus >= 1).then_some(key)
    }

    fn id(self) -> String {
        format!("{}-{}-{}", self.hardware_id, self.location_id, self.gpus)
    }
}

impl IoNetClient {
    /// Returns a client over `http`; deployments are prepaid for `duration_hours`.
    pub fn new(http: ProviderHttp, duration_hours: u32) -> Self {
        IoNetClient {
            http,
            duration_hours: duration_hours.max(1),
            reference: Arc::default(),
        }
    }

    /// Returns the transport.
    pub fn http(&self) -> &ProviderHttp {
        &self.http
    }

    fn reference(&self) -> std::sync::MutexGuard<'_, Reference> {
        self.reference.lock().unwrap_or_else(PoisonError::into_inner)
    }

    async fn hardware(&self) -> Result<Arc<Vec<wire::Hardware>>, ProviderError> {
        if let Some((at, hardware)) = &self.reference().hardware
            && at.elapsed() < REFERENCE_TTL
        {
            return Ok(Arc::clone(hardware));
        }
        let reply = self
            .http
            .send(Call::new(
                "list_hardware",
                Method::GET,
                format!("{CAAS}/hardware/max-gpus-per-container"),
                Retry::Idempotent,
            ))
            .await?;
        let list: wire::Data<wire::HardwareList> = expect_success(reply, "hardware", "")?.json(PROVIDER)?;
        let hardware = Arc::new(list.data.hardware);
        self.reference().hardware = Some((Instant::now(), Arc::clone(&hardware)));
        Ok(hardware)
    }

    async fn availability(&self, hardware_id: i64, gpus: i64) -> Result<Vec<wire::Location>, ProviderError> {
        let reply = self
            .http
            .send(
                Call::new(
                    "available_replicas",
                    Method::GET,
                    format!("{CAAS}/available-replicas"),
                    Retry::Idempotent,
                )
                .query("hardware_id", hardware_id)
                .query("hardware_qty", gpus),
            )
            .await?;
        let locations: wire::Data<Vec<wire::Location>> =
            expect_success(reply, "hardware", "")?.json(PROVIDER)?;
        Ok(locations
            .data
            .into_iter()
            .filter(|location| location.available_replicas > 0)
            .collect())
    }

    /// Returns USD per hour for `gpus` GPUs of `hardware_id`, fees included, quoted at `location_id`
    /// unless a recent quote exists.
    async fn quote(&self, hardware_id: i64, gpus: i64, location_id: i64) -> Result<Quote, ProviderError> {
        if let Some((at, quote)) = self.reference().quotes.get(&(hardware_id, gpus))
            && at.elapsed() < REFERENCE_TTL
        {
            return Ok(*quote);
        }
        let reply = self
            .http
            .send(
                Call::new(
                    "quote_price",
                    Method::GET,
                    format!("{CAAS}/price"),
                    Retry::Idempotent,
                )
                .query("location_ids", format!("[{location_id}]"))
                .query("hardware_id", hardware_id)
                .query("duration_hours", 1)
                .query("gpus_per_container", gpus)
                .query("replica_count", 1),
            )
            .await?;
        let price: wire::Data<wire::Price> = expect_success(reply, "hardware", "")?.json(PROVIDER)?;
        let quote = Quote {
            per_hour: price.data.total_cost_usdc,
            location_id,
        };
        self.reference()
            .quotes
            .insert((hardware_id, gpus), (Instant::now(), quote));
        Ok(quote)
    }

    /// Lists every (hardware, location, GPU count) with free capacity: one round of availability
    /// calls, all at once, plus quotes for combinations not quoted recently.
    pub async fn search_offers(&self) -> Result<Vec<Offer>, ProviderError> {
        let hardware = self.hardware().await?;
        let combinations: Vec<(&wire::Hardware, i64)> = hardware
            .iter()
            .flat_map(|item| {
                GPU_COUNTS
                    .into_iter()
                    .filter(move |gpus| *gpus <= item.max_gpus_per_container)
                    .map(move |gpus| (item, gpus))
            })
            .collect();
        let mut combinations = combinations;
        let mut offers = Vec::new();
        // A half-open breaker lets one probe through and refuses the calls beside it: probe with one
        // combination alone, so that the fan-out runs only once the breaker has closed again.
        if self.http.breaker().state() != BreakerState::Closed
            && let Some((item, gpus)) = combinations.pop()
        {
            offers.extend(self.offers_of(item, gpus).await?);
        }
        let rest = futures::future::try_join_all(
            combinations
                .into_iter()
                .map(|(item, gpus)| self.offers_of(item, gpus)),
        )
        .await?;
        offers.extend(rest.into_iter().flatten());
        Ok(offers)
    }

    async fn offers_of(&self, hardware: &wire::Hardware, gpus: i64) -> Result<Vec<Offer>, ProviderError> {
        let locations = self.availability(hardware.hardware_id, gpus).await?;
        let Some(first) = locations.first() else {
            return Ok(Vec::new());
        };
        let quote = self.quote(hardware.hardware_id, gpus, first.id).await?;
        Ok(locations
            .iter()
            .filter_map(|location| offer(hardware, gpus, location, quote))
            .collect())
    }

    /// Looks one offer up, asking the provider for its current availability.
    pub async fn find_offer(&self, offer_id: &str) -> Result<Option<Offer>, ProviderError> {
        let Some(key) = OfferKey::parse(offer_id) else {
            return Ok(None);
        };
        let hardware = self.hardware().await?;
        let Some(item) = hardware.iter().find(|item| item.hardware_id == key.hardware_id) else {
            return Ok(None);
        };
        let locations = self.availability(key.hardware_id, key.gpus).await?;
        let Some(location) = locations.iter().find(|location| location.id == key.location_id) else {
            return Ok(None);
        };
        let quote = self.quote(key.hardware_id, key.gpus, key.location_id).await?;
        Ok(offer(item, key.gpus, location, quote))
    }
}

fn offer(hardware: &wire::Hardware, gpus: i64, location: &wire::Location, quote: Quote) -> Option<Offer> {
    let price = quote.per_hour;
    if !price.is_finite() || price <= 0.0 {
        return None;
    }
    let vram = vram::vram_gb(&hardware.hardware_name);
    let place = match (&location.name, &location.iso2) {
        (Some(name), Some(code)) => format!("{name}, {code}"),
        (Some(name), None) => name.clone(),
        (None, Some(code)) => code.clone(),
        (None, None) => String::new(),
    };
    let key = OfferKey {
        hardware_id: hardware.hardware_id,
        location_id: location.id,
        gpus,
    };
    let mut offer = Offer::new(
        PROVIDER,
        key.id(),
        hardware.hardware_name.clone(),
        vram.unwrap_or(0),
        i32::try_from(gpus).ok()?,
        dollars_to_micros(price),
        place,
    )
    .with("hardware_id", hardware.hardware_id)
    .with("location_id", location.id)
    .with("available_replicas", location.available_replicas)
    .with("price_quoted_at_location_id", quote.location_id)
    .with("max_gpus_per_container", hardware.max_gpus_per_container)
    .with("billing", "prepaid hourly, unused hours refunded after the first");
    if let Some(brand) = &hardware.brand_name {
        offer = offer.with("brand_name", brand);
    }
    if vram.is_none() {
        offer = offer.with("vram", "unknown");
    }
    Some(offer)
}

fn expect_success(reply: Reply, what: &'static str, id: &str) -> Result<Reply, ProviderError> {
    match reply.status {
        status if status.is_success() => Ok(reply),
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => Err(ProviderError::Unauthorized {
            provider: PROVIDER,
            message: reply.message(),
        }),
        StatusCode::NOT_FOUND => Err(ProviderError::NotFound {
            provider: PROVIDER,
            what,
            id: id.to_owned(),
        }),
        status => Err(ProviderError::Rejected {
            provider: PROVIDER,
            status: status.as_u16(),
            message: reply.message(),
        }),
    }
}

#[cfg(test)]
mod tests;
