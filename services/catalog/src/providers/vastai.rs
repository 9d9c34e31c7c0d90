//! The vast.ai client (REST API v0, shared/specs/vastai-api.md).

mod wire;

use std::collections::BTreeMap;

use gpuproxy_domain::Provider;
use http::{Method, StatusCode};
use serde_json::json;

use crate::error::ProviderError;
use crate::instance::{CreateRequest, Instance, InstanceStatus};
use crate::offer::{MetaValue, Offer, dollars_to_micros};
use crate::providers::http::{Call, ProviderHttp, Reply, Retry};

const PROVIDER: Provider = Provider::VastAi;
/// GB of disk every listed price includes (`allocated_storage`), so prices compare with a rent of
/// the default disk.
const LISTED_STORAGE_GB: f64 = 10.0;
/// The internal port exposed when the caller names none: what inference servers usually listen on.
const DEFAULT_PORT: u16 = 8000;

/// Talks to vast.ai.
#[derive(Debug, Clone)]
pub struct VastAiClient {
    http: ProviderHttp,
    search_limit: u32,
}

impl VastAiClient {
    /// Returns a client over `http` asking for up to `search_limit` offers per search.
    pub fn new(http: ProviderHttp, search_limit: u32) -> Self {
        VastAiClient { http, search_limit }
    }

    /// Returns the transport.
    pub fn http(&self) -> &ProviderHttp {
        &self.http
    }

    /// The search body: the SDK's default filters (verified, rentable, not rented, not external),
    /// on-demand prices, cheapest first.
    fn search_body(&self, extra: Option<(&str, serde_json::Value)>) -> serde_json::Value {
        let mut body = json!({
            "verified": {"eq": true},
            "external": {"eq": false},
            "rentable": {"eq": true},
            "rented": {"eq": false},
            "order": [["dph_total", "asc"]],
            "type": "on-demand",
            "limit": self.search_limit,
            "allocated_storage": LISTED_STORAGE_GB,
        });
        if let (Some((key, value)), Some(object)) = (extra, body.as_object_mut()) {
            object.insert(key.to_owned(), value);
        }
        body
    }

    /// Lists every rentable offer.
    pub async fn search_offers(&self) -> Result<Vec<Offer>, ProviderError> {
        let body = self.search_body(None);
        self.search(&body).await
    }

    /// Looks one offer up by id, asking the provider (the cache may not have it yet).
    pub async fn find_offer(&self, offer_id: &str) -> Result<Option<Offer>, ProviderError> {
        let Ok(id) = offer_id.parse::<u64>() else {
            return Ok(None);
        };
        let body = self.search_body(Some(("id", json!({"eq": id}))));
        Ok(self.search(&body).await?.into_iter().next())
    }

    async fn search(&self, body: &serde_json::Value) -> Result<Vec<Offer>, ProviderError> {
        let reply = self
            .http
            .send(
                Call::new(
                    "search_offers",
                    Method::POST,
                    "/api/v0/bundles/",
                    Retry::Idempotent,
                )
                .body(body),
            )
            .await?;
        let response: wire::SearchResponse = expect_success(reply, "offer", "")?.json(PROVIDER)?;
        let received = response.offers.len();
        let offers = usable_offers(&response);
        if offers.len() < received {
            tracing::warn!(
                skipped = received - offers.len(),
                received,
                "vast.ai offers without a usable shape or price were left out"
            );
        }
        Ok(offers)
    }

    /// Rents `request.offer_id`.
    pub async fn create_instance(&self, request: &CreateRequest) -> Result<String, ProviderError> {
        let mut env: serde_json::Map<String, serde_json::Value> = request
            .env
            .iter()
            .map(|(key, value)| (key.clone(), json!(value)))
            .collect();
        let ports = if request.ports.is_empty() {
            vec![DEFAULT_PORT]
        } else {
            request.ports.clone()
        };
        // Docker options travel as env keys (§3): "-p 8000:8000": "1".
        for port in ports {
            env.insert(format!("-p {port}:{port}"), json!("1"));
        }
        let body = json!({
            "client_id": "me",
            "image": request.image,
            "disk": if request.disk_gb == 0 { LISTED_STORAGE_GB } else { f64::from(request.disk_gb) },
            "env": env,
            // `args` runs the image's own entrypoint: the inference server, not an ssh daemon.
            "runtype": "args",
            "label": request.label,
            "target_state": "running",
            "cancel_unavail": true,
        });
        let path = format!("/api/v0/asks/{}/", path_segment(&request.offer_id)?);
        let reply = self
            .http
            .send(Call::new("create_instance", Method::PUT, path, Retry::RateLimitsOnly).body(&body))
            .await?;
        let reply = match reply.status {
            StatusCode::NOT_FOUND | StatusCode::GONE => {
                return Err(ProviderError::OfferGone {
                    provider: PROVIDER,
                    id: request.offer_id.clone(),
                    message: reply.message(),
                });
            }
            _ => expect_success(reply, "offer", &request.offer_id)?,
        };
        let created: wire::CreateResponse = reply.json(PROVIDER)?;
        match (created.success, created.new_contract) {
            (Some(true) | None, Some(contract)) => Ok(contract.to_string()),
            _ => Err(ProviderError::Rejected {
                provider: PROVIDER,
                status: 200,
                message: created
                    .msg
                    .or(created.error)
                    .unwrap_or_else(|| "the rent was not accepted".to_owned()),
            }),
        }
    }

    /// Returns one instance.
    pub async fn get_instance(&self, instance_id: &str) -> Result<Instance, ProviderError> {
        let path = format!("/api/v0/instances/{}/", path_segment(instance_id)?);
        let reply = self
            .http
            .send(Call::new("get_instance", Method::GET, path, Retry::Idempotent).query("owner", "me"))
            .await?;
        let not_found = || ProviderError::NotFound {
            provider: PROVIDER,
            what: "instance",
            id: instance_id.to_owned(),
        };
        // The SDK reads `{"instances": null}` as "not found or not yours"; the docs add 400 and 404.
        if matches!(reply.status, StatusCode::BAD_REQUEST | StatusCode::NOT_FOUND) {
            return Err(not_found());
        }
        let shown: wire::ShowResponse = expect_success(reply, "instance", instance_id)?.json(PROVIDER)?;
        shown.instances.map(instance).ok_or_else(not_found)
    }

    /// Lists our instances.
    pub async fn list_instances(&self) -> Result<Vec<Instance>, ProviderError> {
        let reply = self
            .http
            .send(
                Call::new(
                    "list_instances",
                    Method::GET,
                    "/api/v0/instances/",
                    Retry::Idempotent,
                )
                .query("owner", "me"),
            )
            .await?;
        let listed: wire::ListResponse = expect_success(reply, "instance", "")?.json(PROVIDER)?;
        Ok(listed.instances.into_iter().map(instance).collect())
    }

    /// Destroys an instance. Destroying one that is already gone succeeds, so a retried destroy
    /// after a lost answer is harmless.
    pub async fn destroy_instance(&self, instance_id: &str) -> Result<(), ProviderError> {
        let path = format!("/api/v0/instances/{}/", path_segment(instance_id)?);
        let empty = json!({});
        let reply = self
            .http
            .send(Call::new("destroy_instance", Method::DELETE, path, Retry::Idempotent).body(&empty))
            .await?;
        if reply.status == StatusCode::NOT_FOUND {
            return Ok(());
        }
        let answer: wire::SuccessResponse = expect_success(reply, "instance", instance_id)?.json(PROVIDER)?;
        match answer.success {
            Some(false) => Err(ProviderError::Rejected {
                provider: PROVIDER,
                status: 200,
                message: answer.msg.unwrap_or_else(|| "destroy refused".to_owned()),
            }),
            _ => Ok(()),
        }
    }
}

/// vast.ai ids are integers; anything else would be a path injection or a typo.
fn path_segment(id: &str) -> Result<u64, ProviderError> {
    id.parse::<u64>().map_err(|_| ProviderError::NotFound {
        provider: PROVIDER,
        what: "instance or offer",
        id: id.to_owned(),
    })
}

/// Maps the statuses every endpoint shares; returns 2xx replies.
fn expect_success(reply: Reply, what: &'static str, id: &str) -> Result<Reply, ProviderError> {
    let message = || reply.message();
    match reply.status {
        status if status.is_success() => Ok(reply),
        StatusCode::UNAUTHORIZED => Err(ProviderError::Unauthorized {
            provider: PROVIDER,
            message: message(),
        }),
        // The search spec documents a bad key as 403/404 "Invalid user key".
        StatusCode::FORBIDDEN | StatusCode::NOT_FOUND if message().contains("Invalid user key") => {
            Err(ProviderError::Unauthorized {
                provider: PROVIDER,
                message: message(),
            })
        }
        StatusCode::NOT_FOUND => Err(ProviderError::NotFound {
            provider: PROVIDER,
            what,
            id: id.to_owned(),
        }),
        status => Err(ProviderError::Rejected {
            provider: PROVIDER,
            status: status.as_u16(),
            message: message(),
        }),
    }
}

/// Parses each raw offer on its own and keeps those with the fields a listing needs.
fn usable_offers(search: &wire::SearchResponse) -> Vec<Offer> {
    search
        .offers
        .iter()
        .filter_map(|raw| serde_json::from_str::<wire::Offer>(raw.get()).ok())
        .filter_map(normalise)
        .collect()
}

/// Turns a wire offer into a catalog offer; drops offers without the fields a listing needs.
fn normalise(offer: wire::Offer) -> Option<Offer> {
    let gpu_model = offer.gpu_name?;
    // A price that is not a positive number would list the offer as free, first in every listing.
    let price = offer
        .dph_total
        .filter(|price| price.is_finite() && *price > 0.0)?;
    let num_gpus = i32::try_from(offer.num_gpus.unwrap_or(1)).ok()?;
    let vram_mb = offer.gpu_ram.unwrap_or(0.0);
    let reliability = offer.reliability2.or(offer.reliability).unwrap_or(0.0);
    let mut normalised = Offer::new(
        PROVIDER,
        offer.id.to_string(),
        gpu_model,
        mb_to_gb(vram_mb),
        num_gpus,
        dollars_to_micros(price),
        offer.geolocation.unwrap_or_default(),
    )
    .with_reliability(reliability);
    // Kept as values and rendered only for the offers a page shows: formatting two dozen numbers
    // per offer at every refresh cost more than parsing the whole search.
    let fields: [(&'static str, Option<MetaValue>); 24] = [
        ("vram_mb", Some(vram_mb.into())),
        ("storage_gb_in_price", Some(LISTED_STORAGE_GB.into())),
        ("machine_id", offer.machine_id.map(Into::into)),
        ("host_id", offer.host_id.map(Into::into)),
        ("verification", offer.verification.map(Into::into)),
        ("dph_base", offer.dph_base.map(Into::into)),
        ("min_bid", offer.min_bid.map(Into::into)),
        ("storage_cost_per_gb_month", offer.storage_cost.map(Into::into)),
        ("gpu_total_ram_mb", offer.gpu_total_ram.map(Into::into)),
        ("cuda_max_good", offer.cuda_max_good.map(Into::into)),
        ("driver_version", offer.driver_version.map(Into::into)),
        ("cpu_name", offer.cpu_name.map(Into::into)),
        ("cpu_cores_effective", offer.cpu_cores_effective.map(Into::into)),
        ("cpu_ram_mb", offer.cpu_ram.map(Into::into)),
        ("disk_space_gb", offer.disk_space.map(Into::into)),
        ("inet_up_mbps", offer.inet_up.map(Into::into)),
        ("inet_down_mbps", offer.inet_down.map(Into::into)),
        ("direct_port_count", offer.direct_port_count.map(Into::into)),
        ("compute_cap", offer.compute_cap.map(Into::into)),
        ("total_flops", offer.total_flops.map(Into::into)),
        ("duration_seconds", offer.duration.map(Into::into)),
        ("static_ip", offer.static_ip.map(Into::into)),
        ("datacenter", offer.datacenter.map(Into::into)),
        ("dlperf", offer.dlperf.map(Into::into)),
    ];
    normalised.metadata.reserve(fields.len());
    for (key, value) in fields {
        if let Some(value) = value {
            normalised.metadata.push((key, value));
        }
    }
    Some(normalised)
}

/// vast.ai reports GPU memory in MB (24564 for a 24 GB card): rounded to whole binary GB.
fn mb_to_gb(mb: f64) -> i32 {
    if !mb.is_finite() || mb <= 0.0 {
        return 0;
    }
    #[allow(
        clippy::cast_possible_truncation,
        reason = "GPU memory in GB is far below i32::MAX"
    )]
    let gb = (mb / 1024.0).round() as i32;
    gb
}

/// Maps vast.ai's `actual_status`/`intended_status` (§6) onto the common lifecycle.
fn status_of(actual: Option<&str>, intended: Option<&str>, cur_state: Option<&str>) -> InstanceStatus {
    if cur_state == Some("unloaded") {
        return InstanceStatus::Terminated;
    }
    match actual {
        None | Some("scheduling" | "created") => InstanceStatus::Pending,
        Some("loading" | "rebooting") => InstanceStatus::Loading,
        Some("running") if intended == Some("stopped") => InstanceStatus::Stopping,
        Some("running") => InstanceStatus::Running,
        Some("stopped" | "frozen") => InstanceStatus::Stopped,
        Some("exited" | "offline") => InstanceStatus::Failed,
        Some(_) => InstanceStatus::Unknown,
    }
}

fn instance(wire: wire::Instance) -> Instance {
    let status = status_of(
        wire.actual_status.as_deref(),
        wire.intended_status.as_deref(),
        wire.cur_state.as_deref(),
    );
    let host = wire
        .public_ipaddr
        .map(|host| host.trim().to_owned())
        .filter(|host| !host.is_empty());
    let mut endpoints = BTreeMap::new();
    if let (Some(host), Some(ports)) = (&host, &wire.ports) {
        for (key, bindings) in ports {
            let Some(internal) = key.strip_suffix("/tcp") else {
                continue;
            };
            if let Some(binding) = bindings.first() {
                endpoints.insert(
                    internal.to_owned(),
                    format!("http://{host}:{}", binding.host_port),
                );
            }
        }
    }
    Instance {
        provider: PROVIDER,
        instance_id: wire.id.to_string(),
        status,
        provider_status: wire.actual_status.unwrap_or_else(|| "scheduling".to_owned()),
        public_host: host,
        endpoints,
        label: wire.label.unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests;
