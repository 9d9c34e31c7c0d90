//! The io.net client (IO Cloud CaaS enterprise API, shared/specs/ionet-api.md).
//!
//! io.net lists hardware types, not machines: an offer here is a hardware type in a location with a
//! GPU count, priced by a one-hour quote (§3.3). Hardware types and quotes change slowly and cost a
//! call each, so they are kept for [`REFERENCE_TTL`]; availability is asked afresh at every refresh.

mod vram;
mod wire;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use gpuproxy_domain::Provider;
use http::{Method, StatusCode};
use serde_json::json;

use crate::error::ProviderError;
use crate::instance::{CreateRequest, Instance, InstanceStatus};
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

    /// Deploys one container on the offer's hardware and location, prepaid for the configured hours.
    pub async fn create_instance(&self, request: &CreateRequest) -> Result<String, ProviderError> {
        let key = OfferKey::parse(&request.offer_id).ok_or_else(|| ProviderError::NotFound {
            provider: PROVIDER,
            what: "offer",
            id: request.offer_id.clone(),
        })?;
        let port = request.ports.first().copied().unwrap_or(DEFAULT_PORT);
        let name = if request.label.is_empty() {
            format!("gpuproxy-{}", uuid_like())
        } else {
            request.label.clone()
        };
        let nested = json!({
            "resource_private_name": name,
            "duration_hours": self.duration_hours,
            "gpus_per_container": key.gpus,
            "hardware_id": key.hardware_id,
            "location_ids": [key.location_id],
            "container_config": {
                "replica_count": 1,
                "traffic_port": port,
                "env_variables": request.env,
            },
            "registry_config": {"image_url": request.image},
        });
        let reply = self.deploy(&nested).await?;
        // The schema is drifting towards a flat body (§10.1): retry once flat when the nested one is refused.
        let reply = if reply.status == StatusCode::UNPROCESSABLE_ENTITY && mentions_nesting(&reply) {
            let flat = json!({
                "resource_private_name": name,
                "duration_hours": self.duration_hours,
                "gpus_per_container": key.gpus,
                "hardware_id": key.hardware_id,
                "location_ids": [key.location_id],
                "replica_count": 1,
                "traffic_port": port,
                "env_variables": request.env,
                "image_url": request.image,
            });
            self.deploy(&flat).await?
        } else {
            reply
        };
        let reply = match reply.status {
            StatusCode::NOT_FOUND | StatusCode::CONFLICT | StatusCode::GONE => {
                return Err(ProviderError::OfferGone {
                    provider: PROVIDER,
                    id: request.offer_id.clone(),
                    message: reply.message(),
                });
            }
            _ => expect_success(reply, "offer", &request.offer_id)?,
        };
        let deployed: wire::DeployResponse = reply.json(PROVIDER)?;
        Ok(deployed.deployment_id)
    }

    async fn deploy(&self, body: &serde_json::Value) -> Result<Reply, ProviderError> {
        self.http
            .send(
                Call::new(
                    "create_instance",
                    Method::POST,
                    format!("{CAAS}/deploy"),
                    Retry::RateLimitsOnly,
                )
                .body(body),
            )
            .await
    }

    /// Returns one deployment, with the URL of its first container once it runs.
    pub async fn get_instance(&self, instance_id: &str) -> Result<Instance, ProviderError> {
        let id = deployment_id(instance_id)?;
        let reply = self
            .http
            .send(Call::new(
                "get_instance",
                Method::GET,
                format!("{CAAS}/deployment/{id}"),
                Retry::Idempotent,
            ))
            .await?;
        let deployment: wire::Data<wire::Deployment> =
            expect_success(reply, "instance", instance_id)?.json(PROVIDER)?;
        let deployment = deployment.data;
        let status = status_of(&deployment.status);
        let mut instance = Instance {
            provider: PROVIDER,
            instance_id: deployment.id,
            status,
            provider_status: deployment.status,
            public_host: None,
            endpoints: std::collections::BTreeMap::new(),
            label: String::new(),
        };
        if status == InstanceStatus::Running {
            let reply = self
                .http
                .send(
                    Call::new(
                        "get_containers",
                        Method::GET,
                        format!("{CAAS}/deployment/{id}/containers"),
                        Retry::Idempotent,
                    )
                    .query("page", 0)
                    .query("page_size", 20),
                )
                .await?;
            let workers: wire::Data<wire::Workers> =
                expect_success(reply, "instance", instance_id)?.json(PROVIDER)?;
            let port = deployment
                .container_config
                .and_then(|config| config.traffic_port)
                .unwrap_or(DEFAULT_PORT);
            if let Some(url) = workers
                .data
                .workers
                .into_iter()
                .find_map(|worker| worker.public_url)
            {
                instance.public_host = reqwest::Url::parse(&url)
                    .ok()
                    .and_then(|parsed| parsed.host_str().map(str::to_owned));
                instance
                    .endpoints
                    .insert(port.to_string(), url.trim_end_matches('/').to_owned());
            } else {
                // Running without a URL yet: not reachable, so not running for our purposes.
                instance.status = InstanceStatus::Loading;
            }
        }
        Ok(instance)
    }

    /// Lists our deployments (every page).
    pub async fn list_instances(&self) -> Result<Vec<Instance>, ProviderError> {
        let mut instances = Vec::new();
        for page in 0..100 {
            let reply = self
                .http
                .send(
                    Call::new(
                        "list_instances",
                        Method::GET,
                        format!("{CAAS}/deployments"),
                        Retry::Idempotent,
                    )
                    .query("page", page)
                    .query("page_size", 100),
                )
                .await?;
            let list: wire::Data<wire::DeploymentList> =
                expect_success(reply, "instance", "")?.json(PROVIDER)?;
            let received = list.data.deployments.len();
            instances.extend(list.data.deployments.into_iter().map(|summary| Instance {
                provider: PROVIDER,
                instance_id: summary.id,
                status: status_of(&summary.status),
                provider_status: summary.status,
                public_host: None,
                endpoints: std::collections::BTreeMap::new(),
                label: summary.name.unwrap_or_default(),
            }));
            if received == 0 || i64::try_from(instances.len()).unwrap_or(i64::MAX) >= list.data.total {
                break;
            }
        }
        Ok(instances)
    }

    /// Destroys a deployment; one already gone counts as destroyed.
    pub async fn destroy_instance(&self, instance_id: &str) -> Result<(), ProviderError> {
        let id = deployment_id(instance_id)?;
        let reply = self
            .http
            .send(Call::new(
                "destroy_instance",
                Method::DELETE,
                format!("{CAAS}/deployment/{id}"),
                Retry::Idempotent,
            ))
            .await?;
        if reply.status == StatusCode::NOT_FOUND {
            return Ok(());
        }
        expect_success(reply, "instance", instance_id).map(drop)
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

/// Maps io.net statuses (§6), compared case-insensitively.
fn status_of(status: &str) -> InstanceStatus {
    match status.trim().to_ascii_lowercase().as_str() {
        "deployment requested" | "pending" | "queued" => InstanceStatus::Pending,
        "running" | "active" => InstanceStatus::Running,
        "termination requested" => InstanceStatus::Stopping,
        "completed" | "destroyed" | "terminated" | "stopped" => InstanceStatus::Terminated,
        "failed" => InstanceStatus::Failed,
        _ => InstanceStatus::Unknown,
    }
}

/// Deployment ids are UUIDs; anything else would put arbitrary text in a path.
fn deployment_id(id: &str) -> Result<&str, ProviderError> {
    let valid =
        !id.is_empty() && id.len() <= 64 && id.bytes().all(|byte| byte.is_ascii_hexdigit() || byte == b'-');
    if valid {
        Ok(id)
    } else {
        Err(ProviderError::NotFound {
            provider: PROVIDER,
            what: "instance",
            id: id.to_owned(),
        })
    }
}

fn mentions_nesting(reply: &Reply) -> bool {
    let text = String::from_utf8_lossy(&reply.body);
    text.contains("container_config") || text.contains("extra_forbidden") || text.contains("registry_config")
}

fn uuid_like() -> String {
    let mut bytes = [0u8; 6];
    rand::fill(&mut bytes);
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
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
mod tests {
    use super::*;

    fn fixture<T: serde::de::DeserializeOwned>(name: &str) -> T {
        let value = gpuproxy_provider_sim::fixture(name).expect("a spec fixture");
        serde_json::from_value(value).unwrap_or_else(|error| panic!("{name}: {error}"))
    }

    #[test]
    fn the_spec_examples_parse_and_normalise() {
        let hardware: wire::Data<wire::HardwareList> = fixture("ionet/hardware");
        let h100 = &hardware.data.hardware[0];
        assert_eq!((h100.hardware_id, h100.max_gpus_per_container), (203, 8));
        let locations: wire::Data<Vec<wire::Location>> = fixture("ionet/available_replicas");
        let price: wire::Data<wire::Price> = fixture("ionet/price");
        let quote = Quote {
            per_hour: price.data.total_cost_usdc,
            location_id: 9,
        };
        let listed = offer(h100, 8, &locations.data[0], quote).expect("an offer");
        assert_eq!(listed.offer_id, "203-9-8");
        assert_eq!((listed.vram_gb, listed.num_gpus), (80, 8));
        assert_eq!(listed.location, "Germany, DE");
        assert_eq!(listed.price_per_hour.micros(), 27_000_000);

        let deployed: wire::DeployResponse = fixture("ionet/deploy_response");
        assert_eq!(deployed.deployment_id, "3fa85f64-5717-4562-b3fc-2c963f66afa6");
        let deployment: wire::Data<wire::Deployment> = fixture("ionet/deployment");
        assert_eq!(status_of(&deployment.data.status), InstanceStatus::Running);
        assert_eq!(
            deployment
                .data
                .container_config
                .and_then(|config| config.traffic_port),
            Some(8000)
        );
        let workers: wire::Data<wire::Workers> = fixture("ionet/containers");
        assert_eq!(
            workers.data.workers[0].public_url.as_deref(),
            Some("https://example.invalid")
        );
        let list: wire::Data<wire::DeploymentList> = fixture("ionet/deployments");
        assert_eq!(list.data.total, 1);
        let destroyed: wire::DeployResponse = fixture("ionet/destroy_response");
        assert!(!destroyed.deployment_id.is_empty());
    }

    #[test]
    fn offer_ids_round_trip_and_junk_is_refused() {
        let key = OfferKey::parse("203-9-8").expect("valid");
        assert_eq!(key.id(), "203-9-8");
        assert_eq!(OfferKey::parse("203-9"), None);
        assert_eq!(OfferKey::parse("203-9-0"), None);
        assert_eq!(OfferKey::parse("a-b-c"), None);
    }

    #[test]
    fn statuses_compare_case_insensitively() {
        assert_eq!(status_of("RUNNING"), InstanceStatus::Running);
        assert_eq!(status_of("deployment requested"), InstanceStatus::Pending);
        assert_eq!(status_of("termination requested"), InstanceStatus::Stopping);
        assert_eq!(status_of("destroyed"), InstanceStatus::Terminated);
        assert_eq!(status_of("failed"), InstanceStatus::Failed);
        assert_eq!(status_of("who knows"), InstanceStatus::Unknown);
    }

    #[test]
    fn only_uuid_like_ids_reach_a_path() {
        assert!(deployment_id("3fa85f64-5717-4562-b3fc-2c963f66afa6").is_ok());
        assert!(deployment_id("../../admin").is_err());
        assert!(deployment_id("").is_err());
    }
}
