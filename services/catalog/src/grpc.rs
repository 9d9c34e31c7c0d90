//! The internal gRPC API: converts messages to use-case calls and back.

use std::time::Duration;

use gpuproxy_domain::{Provider, launch};
use gpuproxy_proto::gpuproxy::catalog::v1 as pb;
use gpuproxy_proto::gpuproxy::catalog::v1::catalog_service_server::CatalogService;
use tonic::{Request, Response, Status};

use crate::catalog::Catalog;
use futures::FutureExt;
use futures::future::{BoxFuture, Shared};
use tokio_util::task::TaskTracker;

use crate::error::{Error, ProviderError};
use crate::instance::{CreateRequest, Instance};
use crate::query::Query;

/// How long a create with an idempotency key remembers its result.
const IDEMPOTENCY_WINDOW: Duration = Duration::from_secs(3600);

type SharedCreate = Shared<BoxFuture<'static, Result<Instance, Error>>>;

/// The gRPC face of [`Catalog`].
#[derive(Debug, Clone)]
pub struct GrpcCatalog {
    catalog: Catalog,
    /// Creates by idempotency key: a retried create returns the first result, and concurrent
    /// creates with one key share one call to the provider. Each create runs as its own task, so a
    /// caller that gives up does not abandon a rent the provider may already have made.
    created: moka::future::Cache<String, SharedCreate>,
    tracker: TaskTracker,
}

impl GrpcCatalog {
    /// Wraps `catalog`; creates run under `tracker`.
    pub fn new(catalog: Catalog, tracker: TaskTracker) -> Self {
        GrpcCatalog {
            catalog,
            created: moka::future::Cache::builder()
                .max_capacity(100_000)
                .time_to_live(IDEMPOTENCY_WINDOW)
                .build(),
            tracker,
        }
    }

    async fn create_once(
        &self,
        key: String,
        provider: Provider,
        create: CreateRequest,
    ) -> Result<Instance, Error> {
        let catalog = self.catalog.clone();
        let candidate: SharedCreate = async move { catalog.create_instance(provider, &create).await }
            .boxed()
            .shared();
        let shared = self
            .created
            .get_with(key.clone(), std::future::ready(candidate.clone()))
            .await;
        // Only the caller whose create was stored starts it; the others join it.
        if shared.ptr_eq(&candidate) {
            self.tracker.spawn(async move {
                let _ = candidate.await;
            });
        }
        let result = shared.await;
        // A failure that surely rented nothing may be retried with the same key; one that may have
        // rented (a timeout, a 5xx, a lost connection) keeps answering the same, so it is never repeated.
        if let Err(
            Error::InvalidField { .. }
            | Error::Provider(
                ProviderError::Disabled(_)
                | ProviderError::CircuitOpen { .. }
                | ProviderError::RateLimited { .. }
                | ProviderError::QuotaExhausted { .. }
                | ProviderError::Unauthorized { .. }
                | ProviderError::Rejected { .. }
                | ProviderError::NotFound { .. }
                | ProviderError::OfferGone { .. },
            ),
        ) = &result
        {
            self.created.invalidate(&key).await;
        }
        result
    }
}

/// Checks the launch rules the providers depend on (env names that could be Docker options, ports,
/// the image); the reservation service checked them already, with the same rules.
fn launch_rules(request: &pb::CreateInstanceRequest) -> Result<(), Error> {
    launch::check_image(&request.image)
        .and_then(|()| launch::check_env_names(request.env.keys().map(String::as_str)))
        .and_then(|()| launch::check_ports(&request.ports))
        .and_then(|()| launch::check_disk_gb(request.disk_gb))
        .map_err(|refused| Error::invalid(refused.field, refused.reason))
}

/// The provider-side name of an instance: the caller's label, else one derived from the idempotency
/// key, so that a rent retried after a crash can be recognised (and io.net, which wants unique names,
/// refuses the duplicate).
fn label(labels: &std::collections::HashMap<String, String>, idempotency_key: &str) -> String {
    if let Some(label) = labels.get("label") {
        return label.clone();
    }
    let key: String = idempotency_key
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .take(48)
        .collect();
    if key.is_empty() {
        String::new()
    } else {
        format!("gpuproxy-{key}")
    }
}

fn provider(text: &str) -> Result<Provider, Error> {
    text.parse()
        .map_err(|_| Error::invalid("provider", "must be vast.ai or io.net"))
}

fn id(field: &'static str, text: &str) -> Result<String, Error> {
    let text = text.trim();
    if text.is_empty() || text.len() > 128 {
        return Err(Error::invalid(field, "is required and at most 128 characters"));
    }
    Ok(text.to_owned())
}

#[tonic::async_trait]
impl CatalogService for GrpcCatalog {
    async fn list_offers(
        &self,
        request: Request<pb::ListOffersRequest>,
    ) -> Result<Response<pb::ListOffersResponse>, Status> {
        let query = Query::from_proto(request.get_ref())?;
        let listing = self.catalog.list(&query).await;
        Ok(Response::new(pb::ListOffersResponse {
            offers: listing.offers.iter().map(crate::offer::Offer::to_proto).collect(),
            total_count: i32::try_from(listing.total).unwrap_or(i32::MAX),
            degraded_providers: listing
                .degraded
                .iter()
                .map(|provider| provider.as_str().to_owned())
                .collect(),
            warnings: listing.warnings,
            page: i32::try_from(query.page()).unwrap_or(i32::MAX),
            page_size: i32::try_from(query.limit).unwrap_or(i32::MAX),
        }))
    }

    async fn get_offer(&self, request: Request<pb::GetOfferRequest>) -> Result<Response<pb::Offer>, Status> {
        let request = request.into_inner();
        let provider = provider(&request.provider)?;
        let offer_id = id("offer_id", &request.offer_id)?;
        let offer = self.catalog.get_offer(provider, &offer_id).await?;
        Ok(Response::new(offer.to_proto()))
    }

    async fn create_instance(
        &self,
        request: Request<pb::CreateInstanceRequest>,
    ) -> Result<Response<pb::ProviderInstance>, Status> {
        let request = request.into_inner();
        let provider = provider(&request.provider)?;
        launch_rules(&request)?;
        let create = CreateRequest {
            offer_id: id("offer_id", &request.offer_id)?,
            image: request.image,
            env: request.env.into_iter().collect(),
            ports: request
                .ports
                .iter()
                .filter_map(|port| u16::try_from(*port).ok())
                .collect(),
            disk_gb: u32::try_from(request.disk_gb).unwrap_or(0),
            label: label(&request.labels, &request.idempotency_key),
        };
        let instance = if request.idempotency_key.is_empty() {
            self.catalog.create_instance(provider, &create).await?
        } else {
            let key = format!("{provider}/{}", request.idempotency_key);
            self.create_once(key, provider, create).await?
        };
        let mut message = instance.to_proto();
        message.offer_id = request.offer_id;
        Ok(Response::new(message))
    }

    async fn get_instance(
        &self,
        request: Request<pb::GetInstanceRequest>,
    ) -> Result<Response<pb::ProviderInstance>, Status> {
        let request = request.into_inner();
        let provider = provider(&request.provider)?;
        let instance_id = id("instance_id", &request.instance_id)?;
        let instance = self.catalog.get_instance(provider, &instance_id).await?;
        Ok(Response::new(instance.to_proto()))
    }

    async fn destroy_instance(
        &self,
        request: Request<pb::DestroyInstanceRequest>,
    ) -> Result<Response<pb::DestroyInstanceResponse>, Status> {
        let request = request.into_inner();
        let provider = provider(&request.provider)?;
        let instance_id = id("instance_id", &request.instance_id)?;
        self.catalog.destroy_instance(provider, &instance_id).await?;
        Ok(Response::new(pb::DestroyInstanceResponse { terminated: true }))
    }

    async fn list_instances(
        &self,
        request: Request<pb::ListInstancesRequest>,
    ) -> Result<Response<pb::ListInstancesResponse>, Status> {
        let provider = provider(&request.get_ref().provider)?;
        let instances = self.catalog.list_instances(provider).await?;
        Ok(Response::new(pb::ListInstancesResponse {
            instances: instances.iter().map(Instance::to_proto).collect(),
        }))
    }

    async fn provider_status(
        &self,
        _request: Request<pb::ProviderStatusRequest>,
    ) -> Result<Response<pb::ProviderStatusResponse>, Status> {
        let providers = self
            .catalog
            .health()
            .into_iter()
            .map(|health| pb::ProviderHealth {
                provider: health.provider.as_str().to_owned(),
                enabled: health.enabled,
                state: health.state.to_owned(),
                breaker: health.breaker.to_owned(),
                offers: i32::try_from(health.offers).unwrap_or(i32::MAX),
                offers_age_ms: health
                    .offers_age
                    .map_or(-1, |age| i64::try_from(age.as_millis()).unwrap_or(i64::MAX)),
                avg_latency_ms: health.avg_latency_ms,
                error_rate: health.error_rate,
                last_error: health.last_error.unwrap_or_default(),
                simulated: health.simulated,
                base_url: health.base_url,
            })
            .collect();
        Ok(Response::new(pb::ProviderStatusResponse { providers }))
    }
}
