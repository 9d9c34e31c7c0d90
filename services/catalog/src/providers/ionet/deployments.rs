//! io.net deployments: create (deploy), read, list and destroy (spec §4–§7).

use std::collections::BTreeMap;

use http::{Method, StatusCode};
use serde_json::json;

use super::{CAAS, DEFAULT_PORT, IoNetClient, OfferKey, PROVIDER, expect_success, wire};
use crate::error::ProviderError;
use crate::instance::{CreateRequest, Instance, InstanceStatus};
use crate::providers::http::{Call, Reply, Retry};

impl IoNetClient {
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
            endpoints: BTreeMap::new(),
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
                endpoints: BTreeMap::new(),
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

/// Maps io.net statuses (§6), compared case-insensitively.
pub(super) fn status_of(status: &str) -> InstanceStatus {
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
pub(super) fn deployment_id(id: &str) -> Result<&str, ProviderError> {
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
