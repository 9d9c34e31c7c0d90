//! Rows as the internal API shows them.

use gpuproxy_proto::gpuproxy::reservation::v1 as pb;

use crate::repo::instances::InstanceRow;

/// Returns the owner's view of an instance. `last_used_ms` is the balancer's, when it knows newer.
pub fn instance(row: &InstanceRow, last_used_ms: Option<i64>) -> pb::Instance {
    pb::Instance {
        instance_id: row.provider_instance_id.clone().unwrap_or_default(),
        provider: row.provider.clone(),
        offer_id: row.offer_id.clone(),
        status: row.status.clone(),
        gpu_model: row.gpu_model.clone(),
        vram_gb: i32::try_from(row.vram_gb).unwrap_or(i32::MAX),
        num_gpus: i32::try_from(row.num_gpus).unwrap_or(i32::MAX),
        price_micros_per_hour: row.price_micros,
        location: row.location.clone(),
        endpoint: row.endpoint.clone().unwrap_or_default(),
        reservation_id: row.reservation_id.clone().unwrap_or_default(),
        autostop_minutes: i32::try_from(row.autostop_minutes).unwrap_or(i32::MAX),
        created_at_ms: row.created_at,
        last_used_ms: last_used_ms.max(row.last_used_at).unwrap_or(0),
        user_id: row.user_id.to_string(),
        reason: row.reason.clone().unwrap_or_default(),
    }
}
