//! Renting one offer, destroying an instance, and finding the caller's instances.

use std::collections::HashMap;

use gpuproxy_domain::Principal;
use gpuproxy_proto::gpuproxy::catalog::v1 as catalog;
use gpuproxy_proto::gpuproxy::reservation::v1 as reservation;
use gpuproxy_proto::gpuproxy::v1 as public;

use crate::Error;
use crate::money::dollars;
use crate::operations::Operations;

/// What to run on a rented GPU. What is left unset takes the reservation service's defaults (its
/// image, port 8000, the provider's disk, no idle stop).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LaunchInput {
    /// The container image.
    pub image: Option<String>,
    /// Environment variables (never stored).
    pub env: HashMap<String, String>,
    /// Ports to expose; the first is where proxied traffic goes.
    pub ports: Vec<i32>,
    /// Disk, GB.
    pub disk_gb: Option<i32>,
    /// Idle minutes before the instance is destroyed; 0 = never.
    pub autostop_minutes: Option<i32>,
}

impl LaunchInput {
    /// Returns the internal message (empty and zero fields mean the defaults).
    pub fn into_proto(self) -> reservation::InstanceConfig {
        reservation::InstanceConfig {
            image: self.image.unwrap_or_default(),
            env: self.env,
            ports: self.ports,
            disk_gb: self.disk_gb.unwrap_or(0),
            autostop_minutes: self.autostop_minutes.unwrap_or(0),
        }
    }
}

/// One offer to rent.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RentInput {
    /// `vast.ai` or `io.net`.
    pub provider: String,
    /// The offer's id in the listing.
    pub offer_id: String,
    /// What to run on it.
    pub launch: LaunchInput,
    /// Makes a retried rent return the first instance (empty: none).
    pub idempotency_key: String,
}

/// What a destroy did.
pub type Destroyed = reservation::DestroyInstanceResponse;

impl Operations {
    /// Rents `input`'s offer for `caller`. The instance starts `pending` and reaches `running` on its own.
    pub async fn rent(&self, caller: &Principal, input: RentInput) -> Result<reservation::Instance, Error> {
        let request = reservation::CreateInstanceRequest {
            user_id: caller.user_id.to_string(),
            provider: input.provider,
            offer_id: input.offer_id,
            config: Some(input.launch.into_proto()),
            idempotency_key: input.idempotency_key,
        };
        self.call_renting(self.reservation.clone().create_instance(request))
            .await
    }

    /// Destroys one of `caller`'s instances; another user's is `NOT_FOUND`, as if it did not exist.
    pub async fn destroy(
        &self,
        caller: &Principal,
        provider: &str,
        instance_id: &str,
    ) -> Result<Destroyed, Error> {
        let request = reservation::DestroyInstanceRequest {
            user_id: caller.user_id.to_string(),
            provider: provider.to_owned(),
            instance_id: instance_id.to_owned(),
        };
        self.call_renting(self.reservation.clone().destroy_instance(request))
            .await
    }

    /// Lists `caller`'s instances, oldest first; ended ones too with `include_ended`.
    pub async fn my_instances(
        &self,
        caller: &Principal,
        include_ended: bool,
    ) -> Result<Vec<reservation::Instance>, Error> {
        let request = reservation::ListInstancesRequest {
            user_id: caller.user_id.to_string(),
            include_ended,
        };
        let listed = self
            .call(self.reservation.clone().list_instances(request))
            .await?;
        Ok(listed.instances)
    }

    /// Returns `caller`'s rented instance with this id as the seed's `GPUInstance`, else the offer
    /// with this id: every front's `GetGPUInstance` answers this way.
    pub async fn instance_or_offer(
        &self,
        caller: &Principal,
        provider: String,
        instance_id: String,
    ) -> Result<public::GpuInstance, Error> {
        let owned = self
            .call(
                self.reservation
                    .clone()
                    .get_instance(reservation::GetInstanceRequest {
                        user_id: caller.user_id.to_string(),
                        provider: provider.clone(),
                        instance_id: instance_id.clone(),
                    }),
            )
            .await;
        if let Ok(owned) = owned {
            return Ok(gpu_instance(owned));
        }
        let offer = self
            .call(self.catalog.clone().get_offer(catalog::GetOfferRequest {
                provider,
                offer_id: instance_id,
            }))
            .await?;
        Ok(crate::operations::offer_gpu_instance(offer))
    }
}

/// Returns a rented instance as the seed's `GPUInstance`: `id` is the provider's instance id (what
/// destroy takes) and the metadata carries `contract_id`, `offer_id`, `endpoint` and
/// `reservation_id`.
pub fn gpu_instance(instance: reservation::Instance) -> public::GpuInstance {
    let mut metadata: HashMap<String, String> = HashMap::new();
    metadata.insert("contract_id".to_owned(), instance.instance_id.clone());
    metadata.insert("offer_id".to_owned(), instance.offer_id);
    for (key, value) in [
        ("endpoint", instance.endpoint),
        ("reservation_id", instance.reservation_id),
        ("reason", instance.reason),
    ] {
        if !value.is_empty() {
            metadata.insert(key.to_owned(), value);
        }
    }
    if instance.autostop_minutes > 0 {
        metadata.insert(
            "autostop_minutes".to_owned(),
            instance.autostop_minutes.to_string(),
        );
    }
    public::GpuInstance {
        id: instance.instance_id,
        provider: instance.provider,
        status: instance.status,
        price_per_hour: dollars(instance.price_micros_per_hour),
        vram_gb: instance.vram_gb,
        gpu_model: instance.gpu_model,
        num_gpus: instance.num_gpus,
        location: instance.location,
        metadata,
    }
}
