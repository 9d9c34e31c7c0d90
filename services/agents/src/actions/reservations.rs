//! `reserve_gpus`: many GPUs at once, with progress while their instances start.

use std::collections::BTreeMap;

use gpuproxy_proto::gpuproxy::reservation::v1 as reservation;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::actions::instances::LaunchInput;
use crate::actions::{Actions, InstanceOutput, OfferFilterFields, ProgressSender, offer_filters};
use crate::{ActionError, Caller, Progress};

/// A reservation to make.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReserveInput {
    /// GPUs to reserve, 1–16.
    pub count: i32,
    /// `vast.ai`, `io.net` or `all` (the default).
    #[serde(default)]
    pub provider: Option<String>,
    /// Part of the GPU model's name.
    #[serde(default)]
    pub gpu_model: Option<String>,
    /// Least VRAM per GPU, GB.
    #[serde(default, alias = "min_vram")]
    pub min_vram_gb: Option<f64>,
    /// Highest price per instance, USD per hour.
    #[serde(default, alias = "max_price")]
    pub max_price_per_hour: Option<f64>,
    /// A two-letter country code, or part of the location.
    #[serde(default)]
    pub location: Option<String>,
    /// Exactly this many GPUs per instance.
    #[serde(default)]
    pub num_gpus: Option<i32>,
    /// What to run on each instance.
    #[serde(default)]
    pub config: LaunchInput,
    /// Wait (reporting progress) until every reserved instance runs or fails (default true).
    #[serde(default = "wait_by_default")]
    pub wait_until_running: bool,
}

fn wait_by_default() -> bool {
    true
}

/// A reservation made.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ReservedOutput {
    /// What `list_my_instances` shows as each instance's `reservation_id`.
    pub reservation_id: String,
    /// GPUs asked for.
    pub requested: i32,
    /// The instances rented, in their latest state.
    pub instances: Vec<InstanceOutput>,
    /// Why the GPUs not rented could not be.
    pub errors: Vec<String>,
    /// Whether every instance was running (or had ended) before the answer.
    pub all_started: bool,
}

impl Actions {
    pub(super) async fn reserve(
        &self,
        caller: Caller,
        input: ReserveInput,
        idempotency_key: &str,
        progress: &ProgressSender,
    ) -> Result<ReservedOutput, ActionError> {
        // Each GPU counts twice, rented then started, so that every report moves forward.
        let total = 2.0 * f64::from(input.count.max(0));
        report(progress, 0.0, total, format!("reserving {} GPUs", input.count));
        let request = reservation::ReserveRequest {
            user_id: caller.user_id.to_string(),
            count: input.count,
            filters: Some(offer_filters(OfferFilterFields {
                provider: input.provider,
                gpu_model: input.gpu_model,
                min_vram_gb: input.min_vram_gb,
                max_price_per_hour: input.max_price_per_hour,
                location: input.location,
                num_gpus: input.num_gpus,
            })?),
            config: Some(input.config.into_proto()),
            idempotency_key: idempotency_key.to_owned(),
        };
        let reserved = self
            .call_renting(self.reservation.clone().reserve(request))
            .await?;
        let mut instances: BTreeMap<String, reservation::Instance> = reserved
            .reserved
            .into_iter()
            .map(|instance| (instance.instance_id.clone(), instance))
            .collect();
        let rented = len_f64(&instances);
        let started = count_started(&instances);
        if rented > 0.0 {
            report(
                progress,
                rented + started,
                total,
                format!("{rented} instances rented, {started} started"),
            );
        }
        let mut errors = reserved.errors;
        if input.wait_until_running {
            // The GPUs are rented and paid for: a failed look at them must not hide the reservation.
            if let Err(error) = self
                .wait_until_started(caller, &mut instances, started, total, progress)
                .await
            {
                errors.push(format!("stopped waiting for the instances to start: {error}"));
            }
        }
        Ok(ReservedOutput {
            reservation_id: reserved.reservation_id,
            requested: reserved.requested,
            all_started: !instances.is_empty() && count_started(&instances) >= len_f64(&instances),
            instances: instances.into_values().map(InstanceOutput::from).collect(),
            errors,
        })
    }

    /// Follows `instances` until none is on its way any more, the renting time bound passes or
    /// nobody listens to the progress, reporting each one that starts.
    async fn wait_until_started(
        &self,
        caller: Caller,
        instances: &mut BTreeMap<String, reservation::Instance>,
        mut started: f64,
        total: f64,
        progress: &ProgressSender,
    ) -> Result<(), ActionError> {
        let deadline = tokio::time::Instant::now() + self.timeouts.renting;
        while started < len_f64(instances) && tokio::time::Instant::now() < deadline {
            // Nobody listening any more (a canceled task) ends the wait: the instances start anyway.
            tokio::select! {
                () = tokio::time::sleep(self.timeouts.progress_interval) => {}
                () = progress.closed() => return Ok(()),
            }
            let listed = self
                .call_owner(
                    self.reservation
                        .clone()
                        .list_instances(reservation::ListInstancesRequest {
                            user_id: caller.user_id.to_string(),
                            include_ended: true,
                        }),
                )
                .await?;
            for instance in listed.instances {
                if let Some(known) = instances.get_mut(&instance.instance_id) {
                    *known = instance;
                }
            }
            let now = count_started(instances);
            if now > started {
                started = now;
                let rented = len_f64(instances);
                report(
                    progress,
                    rented + started,
                    total,
                    format!("{started} of {rented} instances started"),
                );
            }
        }
        Ok(())
    }
}

/// Instances that are no longer on their way (running, or ended for good).
fn count_started(instances: &BTreeMap<String, reservation::Instance>) -> f64 {
    let started = instances
        .values()
        .filter(|instance| !matches!(instance.status.as_str(), "creating" | "pending" | "loading"))
        .count();
    f64::from(u32::try_from(started).unwrap_or(u32::MAX))
}

fn len_f64(instances: &BTreeMap<String, reservation::Instance>) -> f64 {
    f64::from(u32::try_from(instances.len()).unwrap_or(u32::MAX))
}

/// Reports progress without waiting: a listener that is gone or slow misses reports, and the
/// reservation goes on at its own pace.
fn report(progress: &ProgressSender, done: f64, total: f64, message: String) {
    let _ = progress.try_send(Progress {
        progress: done,
        total,
        message,
    });
}
