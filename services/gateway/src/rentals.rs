//! Rented instances and reservations as both fronts show them: the seed's `GPUInstance` (with
//! `contract_id` in its metadata) and the launch configuration callers send.

use std::collections::HashMap;

use gpuproxy_proto::gpuproxy::reservation::v1 as reservation;
use gpuproxy_proto::gpuproxy::v1 as public;

use crate::money::dollars;

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

/// Returns the image every create uses when the caller names none, as the seed's example does.
pub const DEFAULT_IMAGE: &str = "nvidia/cuda:12.0.0-base-ubuntu22.04";
