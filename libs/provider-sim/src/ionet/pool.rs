//! The io.net side of the market: devices, per-hardware rates, deployments and the credit balance.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, Utc};
use rand::RngExt;
use rand::rngs::StdRng;
use uuid::Uuid;

use crate::lifecycle::{DeploymentClock, DeploymentStatus, Timing};
use crate::market::{COUNTRIES, Country, GPU_MODELS, GpuModel, pick_weighted, round_to, seeded_rng};
use crate::upstream::UpstreamHandle;

/// Stream number of the generator behind the io.net market.
const DEVICE_RNG_STREAM: u64 = 4;

/// io.net's platform fee on every quote, in percent.
pub(crate) const IONET_FEE_PERCENT: f64 = 2.0;

/// How many GPUs a device has, weighted towards full 8-GPU nodes as io.net clusters are.
const DEVICE_GPU_COUNTS: [(u32, u32); 4] = [(1, 30), (2, 20), (4, 20), (8, 30)];

/// A machine in the pool; one container replica occupies one whole device.
#[derive(Clone, Debug)]
pub(crate) struct Device {
    pub(crate) id: Uuid,
    pub(crate) model: &'static GpuModel,
    pub(crate) country: &'static Country,
    pub(crate) gpus: u32,
    /// The deployment that last took the device; it is free again once that deployment is not live.
    pub(crate) deployment: Option<Uuid>,
}

/// What the deploy request asked the containers to run.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct ContainerSpec {
    pub(crate) image_url: String,
    pub(crate) traffic_port: u16,
    pub(crate) entrypoint: Option<Vec<String>>,
    pub(crate) args: Option<Vec<String>>,
    pub(crate) command: Option<String>,
    pub(crate) env_variables: Option<BTreeMap<String, String>>,
    /// Only the keys: secret values are never echoed back.
    pub(crate) secret_env_keys: Vec<String>,
}

/// One replica of a deployment.
#[derive(Clone, Debug)]
pub(crate) struct Worker {
    pub(crate) container_id: String,
    pub(crate) device_id: Uuid,
}

/// A CaaS deployment; it owns its upstream listener until destroyed.
#[derive(Debug)]
pub(crate) struct Deployment {
    pub(crate) id: Uuid,
    pub(crate) name: String,
    pub(crate) model: &'static GpuModel,
    pub(crate) country: &'static Country,
    pub(crate) gpus_per_container: u32,
    pub(crate) duration_hours: u32,
    pub(crate) container: ContainerSpec,
    pub(crate) workers: Vec<Worker>,
    pub(crate) amount_paid: f64,
    pub(crate) created_at: DateTime<Utc>,
    pub(crate) clock: DeploymentClock,
    /// Taken (and closed) on destroy.
    pub(crate) upstream: Option<UpstreamHandle>,
}

impl Deployment {
    /// Returns the wall-clock time of an instant of this deployment's life.
    pub(crate) fn wall_time(&self, at: Instant) -> DateTime<Utc> {
        let offset = TimeDelta::from_std(at.saturating_duration_since(self.clock.created))
            .unwrap_or(TimeDelta::zero());
        self.created_at + offset
    }

    pub(crate) fn total_gpus(&self) -> u32 {
        self.gpus_per_container * self.replica_count()
    }

    pub(crate) fn replica_count(&self) -> u32 {
        u32::try_from(self.workers.len()).unwrap_or(u32::MAX)
    }
}

/// A price quote in USD(C).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Quote {
    pub(crate) fee: f64,
    pub(crate) total: f64,
}

/// The devices, rates, deployments and credits of the simulated io.net account.
#[derive(Debug)]
pub(crate) struct IonetMarket {
    devices: Vec<Device>,
    /// $/GPU/hour by hardware id; the same in every location.
    rates: BTreeMap<u32, f64>,
    deployments: BTreeMap<Uuid, Deployment>,
    credits_usd: f64,
}

impl IonetMarket {
    /// Generates devices and rates from the seed.
    pub(crate) fn generate(seed: u64, device_count: usize, credits_usd: f64) -> Self {
        let mut rng = seeded_rng(seed, DEVICE_RNG_STREAM);
        let rates = GPU_MODELS
            .iter()
            .map(|model| {
                (
                    model.ionet_hardware_id,
                    round_to(rng.random_range(model.price_range.0..=model.price_range.1), 2),
                )
            })
            .collect();
        let devices = (0..device_count).map(|_| generate_device(&mut rng)).collect();
        Self {
            devices,
            rates,
            deployments: BTreeMap::new(),
            credits_usd,
        }
    }

    /// Returns how many devices are free right now.
    pub(crate) fn free_device_count(&self, now: Instant, timing: Timing) -> usize {
        self.devices
            .iter()
            .filter(|device| self.is_free(device, now, timing))
            .count()
    }

    /// Returns how many free devices of a hardware type there are.
    pub(crate) fn free_devices_of(&self, model: &GpuModel, now: Instant, timing: Timing) -> usize {
        self.devices
            .iter()
            .filter(|device| {
                device.model.ionet_hardware_id == model.ionet_hardware_id && self.is_free(device, now, timing)
            })
            .count()
    }

    /// Returns how many replicas of `gpus` GPUs fit in each country, leaving out countries with none.
    pub(crate) fn replicas_by_country(
        &self,
        model: &GpuModel,
        gpus: u32,
        now: Instant,
        timing: Timing,
    ) -> Vec<(&'static Country, usize)> {
        COUNTRIES
            .iter()
            .map(|country| (country, self.replicas_in(model, country, gpus, now, timing)))
            .filter(|(_, replicas)| *replicas > 0)
            .collect()
    }

    /// Returns how many replicas of `gpus` GPUs fit in one country.
    pub(crate) fn replicas_in(
        &self,
        model: &GpuModel,
        country: &Country,
        gpus: u32,
        now: Instant,
        timing: Timing,
    ) -> usize {
        self.candidates(model, country, gpus, now, timing).count()
    }

    /// Returns the quote for a deployment: rate × GPUs × hours × replicas plus the platform fee.
    pub(crate) fn quote(&self, model: &GpuModel, gpus: u32, hours: u32, replicas: u32) -> Quote {
        let rate = self
            .rates
            .get(&model.ionet_hardware_id)
            .copied()
            .unwrap_or(model.price_range.1);
        let subtotal = rate * f64::from(gpus) * f64::from(hours) * f64::from(replicas);
        let fee = subtotal * IONET_FEE_PERCENT / 100.0;
        Quote {
            fee: round_to(fee, 6),
            total: round_to(subtotal + fee, 6),
        }
    }

    /// Returns the indices of the devices a deployment would take, smallest fitting devices first,
    /// or `None` when the country has too few.
    pub(crate) fn pick_devices(
        &self,
        model: &GpuModel,
        country: &Country,
        gpus: u32,
        replicas: u32,
        now: Instant,
        timing: Timing,
    ) -> Option<Vec<usize>> {
        let mut candidates: Vec<(u32, usize)> = self
            .devices
            .iter()
            .enumerate()
            .filter(|(_, device)| self.fits(device, model, country, gpus, now, timing))
            .map(|(index, device)| (device.gpus, index))
            .collect();
        let wanted = usize::try_from(replicas).ok()?;
        if candidates.len() < wanted {
            return None;
        }
        candidates.sort_unstable();
        Some(
            candidates
                .into_iter()
                .take(wanted)
                .map(|(_, index)| index)
                .collect(),
        )
    }

    /// Removes devices from the pool for good, as when another customer takes them first.
    pub(crate) fn remove_devices(&mut self, indices: &[usize]) {
        let mut index = 0;
        self.devices.retain(|_| {
            let keep = !indices.contains(&index);
            index += 1;
            keep
        });
    }

    pub(crate) fn credits_usd(&self) -> f64 {
        self.credits_usd
    }

    /// Returns true when a live deployment already uses the name.
    pub(crate) fn name_in_use(&self, name: &str, now: Instant, timing: Timing) -> bool {
        self.deployments
            .values()
            .any(|deployment| deployment.name == name && deployment.clock.status(now, timing).is_live())
    }

    /// Adds a deployment on the given devices and debits its price.
    pub(crate) fn insert_deployment(&mut self, mut deployment: Deployment, device_indices: &[usize]) {
        for (replica, index) in device_indices.iter().enumerate() {
            if let Some(device) = self.devices.get_mut(*index) {
                device.deployment = Some(deployment.id);
                let container_id = format!("{}-{replica}", deployment.id.simple());
                deployment.workers.push(Worker {
                    container_id,
                    device_id: device.id,
                });
            }
        }
        self.credits_usd -= deployment.amount_paid;
        self.deployments.insert(deployment.id, deployment);
    }

    pub(crate) fn deployment(&self, id: &Uuid) -> Option<&Deployment> {
        self.deployments.get(id)
    }

    /// Returns every deployment, newest first.
    pub(crate) fn deployments_newest_first(&self) -> impl Iterator<Item = &Deployment> {
        self.deployments.values().rev()
    }

    pub(crate) fn deployment_status(
        &self,
        id: &Uuid,
        now: Instant,
        timing: Timing,
    ) -> Option<DeploymentStatus> {
        self.deployments
            .get(id)
            .map(|deployment| deployment.clock.status(now, timing))
    }

    pub(crate) fn live_deployment_count(&self, now: Instant, timing: Timing) -> usize {
        self.deployments
            .values()
            .filter(|deployment| deployment.clock.status(now, timing).is_live())
            .count()
    }

    /// Terminates a deployment: frees its devices, refunds unused prepaid time and hands back the
    /// upstream to close. Returns `None` for an unknown id; terminating twice changes nothing.
    pub(crate) fn terminate(
        &mut self,
        id: &Uuid,
        now: Instant,
        timing: Timing,
    ) -> Option<Option<UpstreamHandle>> {
        let deployment = self.deployments.get_mut(id)?;
        if deployment.clock.terminated.is_some() {
            return Some(None);
        }
        let refund = refund(deployment, now, timing);
        deployment.clock.terminated = Some(now);
        let upstream = deployment.upstream.take();
        for device in &mut self.devices {
            if device.deployment == Some(*id) {
                device.deployment = None;
            }
        }
        self.credits_usd += refund;
        Some(upstream)
    }

    fn is_free(&self, device: &Device, now: Instant, timing: Timing) -> bool {
        device.deployment.is_none_or(|id| {
            self.deployment_status(&id, now, timing)
                .is_none_or(|status| !status.is_live())
        })
    }

    fn fits(
        &self,
        device: &Device,
        model: &GpuModel,
        country: &Country,
        gpus: u32,
        now: Instant,
        timing: Timing,
    ) -> bool {
        device.model.ionet_hardware_id == model.ionet_hardware_id
            && device.country.location_id == country.location_id
            && device.gpus >= gpus
            && self.is_free(device, now, timing)
    }

    fn candidates<'a>(
        &'a self,
        model: &'a GpuModel,
        country: &'a Country,
        gpus: u32,
        now: Instant,
        timing: Timing,
    ) -> impl Iterator<Item = &'a Device> {
        self.devices
            .iter()
            .filter(move |device| self.fits(device, model, country, gpus, now, timing))
    }
}

/// Returns the credits given back on early termination: the first hour is never refunded, the rest
/// of the unused prepaid time is pro-rated to the minute (spec §2 "Billing").
fn refund(deployment: &Deployment, now: Instant, timing: Timing) -> f64 {
    if !deployment.clock.status(now, timing).is_live() {
        return 0.0;
    }
    let prepaid_minutes = f64::from(deployment.duration_hours) * 60.0;
    let used_minutes = (now
        .saturating_duration_since(deployment.clock.created)
        .as_secs_f64()
        / 60.0)
        .ceil();
    let charged_minutes = used_minutes.max(60.0).min(prepaid_minutes);
    round_to(
        deployment.amount_paid * (prepaid_minutes - charged_minutes) / prepaid_minutes,
        6,
    )
}

fn generate_device(rng: &mut StdRng) -> Device {
    let model = pick_weighted(rng, &GPU_MODELS, |model| model.weight);
    let country = pick_weighted(rng, &COUNTRIES, |country| country.weight);
    let gpus = pick_weighted(rng, &DEVICE_GPU_COUNTS, |count| count.1).0;
    let id = uuid::Builder::from_random_bytes(rng.random::<u128>().to_le_bytes()).into_uuid();
    Device {
        id,
        model,
        country,
        gpus,
        deployment: None,
    }
}

/// Returns the prepaid time of a deployment.
pub(crate) fn prepaid(duration_hours: u32) -> Duration {
    Duration::from_secs(u64::from(duration_hours) * 3600)
}
