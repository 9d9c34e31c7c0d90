//! `create_gpu_instance`, `destroy_gpu_instance` and `list_my_instances`: the caller's instances.

use std::collections::HashMap;

use gpuproxy_proto::gpuproxy::reservation::v1 as reservation;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::actions::{Actions, dollars};
use crate::{ActionError, Caller};

/// What to run on a rented GPU; what is left unset takes the reservation service's defaults.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LaunchInput {
    /// The container image (default: the service's image).
    #[serde(default)]
    pub image: Option<String>,
    /// Environment variables (never stored).
    #[serde(default)]
    pub env: HashMap<String, String>,
    /// Ports to expose; the first receives proxied traffic (default: 8000).
    #[serde(default)]
    pub ports: Vec<i32>,
    /// Disk, GB (default: the provider's).
    #[serde(default)]
    pub disk_gb: Option<i32>,
    /// Idle minutes before the instance is destroyed; 0 = never.
    #[serde(default)]
    pub autostop_minutes: Option<i32>,
}

impl LaunchInput {
    pub(super) fn into_proto(self) -> reservation::InstanceConfig {
        reservation::InstanceConfig {
            image: self.image.unwrap_or_default(),
            env: self.env,
            ports: self.ports,
            disk_gb: self.disk_gb.unwrap_or(0),
            autostop_minutes: self.autostop_minutes.unwrap_or(0),
        }
    }
}

/// One offer to rent, from `list_gpu_instances`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateInstanceInput {
    /// `vast.ai` or `io.net`.
    pub provider: String,
    /// The offer's `offer_id`.
    pub offer_id: String,
    /// What to run on it.
    #[serde(default)]
    pub config: LaunchInput,
}

/// One of the caller's instances.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DestroyInstanceInput {
    /// `vast.ai` or `io.net`.
    pub provider: String,
    /// The instance's `instance_id`.
    pub instance_id: String,
}

/// Which of the caller's instances.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MyInstancesInput {
    /// Also list destroyed and failed instances.
    #[serde(default)]
    pub include_ended: bool,
}

/// A rented instance.
#[derive(Debug, Serialize, JsonSchema)]
pub struct InstanceOutput {
    /// The provider's id: what `destroy_gpu_instance` takes.
    pub instance_id: String,
    /// `vast.ai` or `io.net`.
    pub provider: String,
    /// The offer it was rented from.
    pub offer_id: String,
    /// `creating`, `pending`, `loading`, `running`, `destroying`, `terminated` or `failed`.
    pub status: String,
    /// The GPU model.
    pub gpu_model: String,
    /// VRAM per GPU, GB.
    pub vram_gb: i32,
    /// GPUs.
    pub num_gpus: i32,
    /// USD per hour.
    pub price_per_hour: f64,
    /// Where it runs.
    pub location: String,
    /// Where proxied traffic goes, once running.
    pub endpoint: String,
    /// The reservation it belongs to, if any.
    pub reservation_id: String,
    /// Idle minutes before it is destroyed; 0 = never.
    pub autostop_minutes: i32,
    /// When it was rented, milliseconds since the Unix epoch.
    pub created_at_ms: i64,
    /// Why it failed or ended, if it did.
    pub reason: String,
}

impl From<reservation::Instance> for InstanceOutput {
    fn from(instance: reservation::Instance) -> Self {
        InstanceOutput {
            instance_id: instance.instance_id,
            provider: instance.provider,
            offer_id: instance.offer_id,
            status: instance.status,
            gpu_model: instance.gpu_model,
            vram_gb: instance.vram_gb,
            num_gpus: instance.num_gpus,
            price_per_hour: dollars(instance.price_micros_per_hour),
            location: instance.location,
            endpoint: instance.endpoint,
            reservation_id: instance.reservation_id,
            autostop_minutes: instance.autostop_minutes,
            created_at_ms: instance.created_at_ms,
            reason: instance.reason,
        }
    }
}

/// The caller's instances.
#[derive(Debug, Serialize, JsonSchema)]
pub struct InstancesOutput {
    /// Oldest first.
    pub instances: Vec<InstanceOutput>,
}

/// What a destroy did.
#[derive(Debug, Serialize, JsonSchema)]
pub struct DestroyedOutput {
    /// Whether the provider confirmed the instance is gone.
    pub terminated: bool,
}

impl Actions {
    pub(super) async fn create_instance(
        &self,
        caller: Caller,
        input: CreateInstanceInput,
        idempotency_key: &str,
    ) -> Result<InstanceOutput, ActionError> {
        let request = reservation::CreateInstanceRequest {
            user_id: caller.user_id.to_string(),
            provider: input.provider,
            offer_id: input.offer_id,
            config: Some(input.config.into_proto()),
            idempotency_key: idempotency_key.to_owned(),
        };
        let instance = self
            .call_renting(self.reservation.clone().create_instance(request))
            .await?;
        Ok(instance.into())
    }

    pub(super) async fn destroy_instance(
        &self,
        caller: Caller,
        input: DestroyInstanceInput,
    ) -> Result<DestroyedOutput, ActionError> {
        let request = reservation::DestroyInstanceRequest {
            user_id: caller.user_id.to_string(),
            provider: input.provider,
            instance_id: input.instance_id,
        };
        let destroyed = self
            .call_renting(self.reservation.clone().destroy_instance(request))
            .await?;
        Ok(DestroyedOutput {
            terminated: destroyed.terminated,
        })
    }

    pub(super) async fn my_instances(
        &self,
        caller: Caller,
        input: MyInstancesInput,
    ) -> Result<InstancesOutput, ActionError> {
        let request = reservation::ListInstancesRequest {
            user_id: caller.user_id.to_string(),
            include_ended: input.include_ended,
        };
        let listed = self
            .call_owner(self.reservation.clone().list_instances(request))
            .await?;
        Ok(InstancesOutput {
            instances: listed.instances.into_iter().map(InstanceOutput::from).collect(),
        })
    }
}
