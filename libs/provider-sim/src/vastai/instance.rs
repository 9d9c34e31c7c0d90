//! A rented vast.ai instance and the instance object the API shows for it (spec §4.4, §5).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use serde::Serialize;

use crate::lifecycle::{ActualStatus, RunState, Timing};
use crate::upstream::UpstreamHandle;
use crate::vastai::offers::VastOffer;
use crate::vastai::pricing::{OfferType, Price, Pricing};

/// Container ports every instance exposes, requested or not: ssh and the inference port.
const ALWAYS_EXPOSED: [u16; 2] = [22, 8000];

/// Jupyter runtypes also expose the notebook port.
const JUPYTER_PORT: u16 = 8080;

/// What the create request asked for, validated.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct LaunchSpec {
    pub(crate) image: String,
    /// GB of disk, priced into `dph_total` like a search's `allocated_storage`.
    pub(crate) disk: f64,
    /// Environment and docker options as `[key, value]` pairs, as `extra_env` shows them.
    pub(crate) env: Vec<(String, String)>,
    /// Container ports requested with `-p P:P[/udp]`, as `(port, "tcp"|"udp")`.
    pub(crate) ports: BTreeSet<(u16, &'static str)>,
    pub(crate) onstart: Option<String>,
    pub(crate) runtype: String,
    pub(crate) args: Vec<String>,
    pub(crate) label: Option<String>,
    /// Interruptible bid in $/hour; `None` rents on demand.
    pub(crate) bid_price: Option<f64>,
    /// False when `target_state` was `"stopped"`.
    pub(crate) start_running: bool,
}

/// A rented instance; it owns its upstream listener until destroyed.
#[derive(Debug)]
pub(crate) struct VastInstance {
    pub(crate) id: u64,
    /// The offer as it was when rented; it goes back to the market on destroy.
    pub(crate) offer: VastOffer,
    pub(crate) spec: LaunchSpec,
    pub(crate) run: RunState,
    /// Epoch seconds of the create.
    pub(crate) created_epoch: f64,
    pub(crate) jupyter_token: String,
    pub(crate) upstream: UpstreamHandle,
}

/// One `ports` entry: the Docker-style binding of a container port (§5).
#[derive(Clone, Debug, Serialize)]
pub(crate) struct PortBinding {
    #[serde(rename = "HostIp")]
    host_ip: &'static str,
    /// The external port, as a string like Docker reports it.
    #[serde(rename = "HostPort")]
    host_port: String,
}

/// The instance object of `GET /api/v0/instances/...`.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct InstanceView {
    id: u64,
    machine_id: u64,
    host_id: u64,
    bundle_id: u64,
    actual_status: Option<&'static str>,
    intended_status: &'static str,
    cur_state: &'static str,
    next_state: &'static str,
    status_msg: String,
    label: Option<String>,
    image_uuid: String,
    image_args: Vec<String>,
    image_runtype: String,
    extra_env: Vec<(String, String)>,
    onstart: Option<String>,
    num_gpus: u32,
    gpu_name: &'static str,
    gpu_ram: u32,
    gpu_totalram: u32,
    gpu_util: Option<f64>,
    gpu_temp: Option<f64>,
    cpu_cores_effective: f64,
    cpu_ram: u32,
    disk_space: f64,
    dph_base: f64,
    dph_total: f64,
    storage_cost: f64,
    storage_total_cost: f64,
    is_bid: bool,
    min_bid: f64,
    public_ipaddr: &'static str,
    local_ipaddrs: &'static str,
    ssh_host: &'static str,
    ssh_port: u16,
    ssh_idx: &'static str,
    direct_port_start: u16,
    direct_port_end: u16,
    direct_port_count: u32,
    /// `None` until the container runs, as on vast.ai.
    ports: Option<BTreeMap<String, Vec<PortBinding>>>,
    jupyter_token: String,
    geolocation: String,
    verification: &'static str,
    reliability2: f64,
    inet_up: f64,
    inet_down: f64,
    start_date: f64,
    end_date: f64,
    uptime_mins: Option<f64>,
    duration: f64,
    template_id: Option<u64>,
    template_hash_id: Option<String>,
}

impl VastInstance {
    /// Returns the instance object at `now`.
    ///
    /// Every exposed container port maps to the instance's one upstream listener, and ssh too, so
    /// `public_ipaddr:HostPort` always reaches the simulated machine.
    pub(crate) fn view(&self, now: Instant, timing: Timing) -> InstanceView {
        let actual = self.run.actual(now, timing);
        let running = actual == ActualStatus::Running;
        let pricing = Pricing {
            kind: OfferType::OnDemand,
            allocated_storage: self.spec.disk,
        };
        let price = Price::of(&self.offer, pricing);
        let gpu_per_hour = self.spec.bid_price.unwrap_or(price.gpu_per_hour);
        let port = self.upstream.port();
        InstanceView {
            id: self.id,
            machine_id: self.offer.machine_id,
            host_id: self.offer.host_id,
            bundle_id: self.offer.bundle_id,
            actual_status: actual.as_wire(),
            intended_status: self.run.intended(),
            cur_state: self.run.intended(),
            next_state: self.run.intended(),
            status_msg: self.status_msg(actual),
            label: self.spec.label.clone(),
            image_uuid: self.spec.image.clone(),
            image_args: self.spec.args.clone(),
            image_runtype: self.spec.runtype.clone(),
            extra_env: self.spec.env.clone(),
            onstart: self.spec.onstart.clone(),
            num_gpus: self.offer.num_gpus,
            gpu_name: self.offer.gpu_name,
            gpu_ram: self.offer.gpu_ram,
            gpu_totalram: self.offer.gpu_total_ram,
            gpu_util: running.then_some(0.0),
            gpu_temp: running.then_some(38.0),
            cpu_cores_effective: self.offer.cpu_cores_effective,
            cpu_ram: self.offer.cpu_ram,
            disk_space: self.spec.disk,
            dph_base: gpu_per_hour,
            dph_total: gpu_per_hour + price.disk_per_hour,
            storage_cost: self.offer.storage_cost,
            storage_total_cost: price.disk_per_hour,
            is_bid: self.spec.bid_price.is_some(),
            min_bid: self.offer.min_bid,
            public_ipaddr: "127.0.0.1",
            local_ipaddrs: "127.0.0.1",
            ssh_host: "127.0.0.1",
            ssh_port: port,
            ssh_idx: "0",
            direct_port_start: port,
            direct_port_end: port,
            direct_port_count: self.offer.direct_port_count,
            ports: running.then(|| self.port_map(port)),
            jupyter_token: self.jupyter_token.clone(),
            geolocation: self.offer.geolocation.clone(),
            verification: self.offer.verification,
            reliability2: self.offer.reliability2,
            inet_up: self.offer.inet_up,
            inet_down: self.offer.inet_down,
            start_date: self.created_epoch,
            end_date: self.offer.end_date,
            uptime_mins: self
                .run
                .uptime(now, timing)
                .map(|uptime| (uptime.as_secs_f64() / 60.0).floor()),
            duration: self.offer.duration,
            template_id: None,
            template_hash_id: None,
        }
    }

    fn status_msg(&self, actual: ActualStatus) -> String {
        match actual {
            ActualStatus::Scheduling => "Scheduling instance".to_owned(),
            ActualStatus::Loading => format!("Pulling image {}", self.spec.image),
            ActualStatus::Running => format!("success, running {}/{}", self.spec.image, self.spec.runtype),
            ActualStatus::Stopped => "Instance stopped".to_owned(),
        }
    }

    fn port_map(&self, host_port: u16) -> BTreeMap<String, Vec<PortBinding>> {
        let mut exposed = self.spec.ports.clone();
        exposed.extend(ALWAYS_EXPOSED.map(|port| (port, "tcp")));
        if self.spec.runtype.contains("jupyter") {
            exposed.insert((JUPYTER_PORT, "tcp"));
        }
        exposed
            .into_iter()
            .map(|(port, protocol)| {
                let binding = PortBinding {
                    host_ip: "0.0.0.0",
                    host_port: host_port.to_string(),
                };
                (format!("{port}/{protocol}"), vec![binding])
            })
            .collect()
    }
}
