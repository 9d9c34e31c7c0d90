//! vast.ai offers: how the seeded market generates them and how a search prices them.

use std::collections::BTreeMap;

use rand::RngExt;
use rand::rngs::StdRng;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::market::{COUNTRIES, GPU_MODELS, GpuModel, pick_weighted, round_to, seeded_rng};

/// Stream number of the generator behind the vast.ai market.
const OFFER_RNG_STREAM: u64 = 1;

/// Id of the first offer; later ones leave random gaps as real ask ids do.
const FIRST_OFFER_ID: u64 = 20_000_000;

/// Fixed "now" of the generated listings, so that dates do not change between runs (2026-01-01).
const LISTING_EPOCH: f64 = 1_767_225_600.0;

const CPU_NAMES: [&str; 7] = [
    "AMD EPYC 7543 32-Core Processor",
    "AMD EPYC 7763 64-Core Processor",
    "AMD EPYC 9354 32-Core Processor",
    "Intel Xeon Gold 6338 CPU @ 2.00GHz",
    "Intel Xeon Platinum 8480+",
    "AMD Ryzen 9 7950X 16-Core Processor",
    "Intel Core i9-13900K",
];
const MOBO_NAMES: [&str; 4] = [
    "ROMED8-2T",
    "H12SSL-i",
    "X13DEG-OAD",
    "PRO WS WRX80E-SAGE SE WIFI",
];
const DISK_NAMES: [&str; 3] = [
    "Samsung SSD 990 PRO 2TB",
    "SAMSUNG MZQL23T8HCLS-00A07",
    "INTEL SSDPE2KX040T8",
];
/// Driver versions with the highest CUDA version they run.
const DRIVERS: [(&str, u64, f64); 4] = [
    ("535.183.01", 535_183_001, 12.2),
    ("550.54.14", 550_054_014, 12.4),
    ("560.35.03", 560_035_003, 12.6),
    ("570.124.06", 570_124_006, 12.8),
];
const STORAGE_COSTS: [f64; 5] = [0.05, 0.1, 0.15, 0.2, 0.3];
/// How many GPUs an offer bundles, weighted towards single GPUs as on the real market.
const GPU_COUNTS: [(u32, u32); 4] = [(1, 55), (2, 20), (4, 15), (8, 10)];

/// One rentable machine slice; a search adds the price-dependent keys (see `pricing`).
#[derive(Clone, Debug, Serialize)]
pub(crate) struct VastOffer {
    pub(crate) id: u64,
    pub(crate) ask_contract_id: u64,
    pub(crate) bundle_id: u64,
    pub(crate) machine_id: u64,
    pub(crate) host_id: u64,
    pub(crate) num_gpus: u32,
    pub(crate) gpu_name: &'static str,
    pub(crate) gpu_arch: &'static str,
    /// MB per GPU.
    pub(crate) gpu_ram: u32,
    pub(crate) gpu_total_ram: u32,
    pub(crate) gpu_frac: f64,
    pub(crate) gpu_lanes: u32,
    pub(crate) gpu_mem_bw: f64,
    pub(crate) gpu_max_power: u32,
    pub(crate) gpu_max_temp: u32,
    pub(crate) gpu_display_active: bool,
    pub(crate) bw_nvlink: f64,
    pub(crate) cpu_name: &'static str,
    pub(crate) cpu_arch: &'static str,
    pub(crate) cpu_cores: u32,
    pub(crate) cpu_cores_effective: f64,
    pub(crate) cpu_ghz: f64,
    /// MB.
    pub(crate) cpu_ram: u32,
    /// GB available for the container's disk.
    pub(crate) disk_space: f64,
    pub(crate) disk_bw: f64,
    pub(crate) disk_name: &'static str,
    pub(crate) pci_gen: f64,
    pub(crate) pcie_bw: f64,
    pub(crate) mobo_name: &'static str,
    pub(crate) os_version: &'static str,
    /// $/GB/month.
    pub(crate) storage_cost: f64,
    /// $/hour, the current minimum interruptible bid.
    pub(crate) min_bid: f64,
    /// Largest fraction a reserved rental is discounted by.
    pub(crate) credit_discount_max: f64,
    pub(crate) inet_up: f64,
    pub(crate) inet_down: f64,
    /// $/GB.
    pub(crate) inet_up_cost: f64,
    pub(crate) inet_down_cost: f64,
    pub(crate) reliability: f64,
    pub(crate) reliability2: f64,
    /// `"<region>, <CC>"`; filters match on the country code after the comma.
    pub(crate) geolocation: String,
    pub(crate) geolocode: u64,
    pub(crate) verification: &'static str,
    pub(crate) hosting_type: u32,
    pub(crate) datacenter: bool,
    /// False for a few listed machines that cannot be rented right now (create answers 410).
    pub(crate) rentable: bool,
    pub(crate) external: bool,
    pub(crate) static_ip: bool,
    /// A documentation-range address: nobody can reach a listing. The instance rented from it
    /// reports 127.0.0.1, where its upstream listener is.
    pub(crate) public_ipaddr: String,
    pub(crate) direct_port_count: u32,
    pub(crate) cuda_max_good: f64,
    pub(crate) driver_version: &'static str,
    /// `driver_version` packed as the CLI sends it in filters: 535.86.05 → 535086005.
    pub(crate) driver_vers: u64,
    pub(crate) compute_cap: u32,
    pub(crate) has_avx: bool,
    pub(crate) vms_enabled: bool,
    pub(crate) dlperf: f64,
    pub(crate) score: f64,
    pub(crate) total_flops: f64,
    /// Seconds the machine stays available.
    pub(crate) duration: f64,
    pub(crate) start_date: f64,
    pub(crate) end_date: f64,
    pub(crate) resource_type: &'static str,
    pub(crate) cluster_id: Option<u64>,
    /// On-demand $/hour for the GPUs; reported as `dph_base` by on-demand and reserved searches.
    #[serde(skip)]
    pub(crate) on_demand_dph: f64,
    /// The keys above as JSON, built once so that searches only add the price-dependent keys.
    #[serde(skip)]
    pub(crate) listing: Map<String, Value>,
    /// `listing` rendered as JSON object members without the braces: searches copy it instead of
    /// serializing seventy keys per offer again, which dominated the time of a large search.
    #[serde(skip)]
    pub(crate) listing_json: String,
}

/// Generates `count` offers from `seed`; the same arguments always give the same offers.
pub(crate) fn generate_offers(seed: u64, count: usize) -> BTreeMap<u64, VastOffer> {
    let mut rng = seeded_rng(seed, OFFER_RNG_STREAM);
    let mut offers = BTreeMap::new();
    let mut id = FIRST_OFFER_ID;
    for _ in 0..count {
        id += rng.random_range(1..=97);
        let mut offer = generate_offer(&mut rng, id);
        offer.listing = listing(&offer);
        offer.listing_json = members(&offer.listing);
        offers.insert(id, offer);
    }
    offers
}

fn generate_offer(rng: &mut StdRng, id: u64) -> VastOffer {
    let model: &GpuModel = pick_weighted(rng, &GPU_MODELS, |model| model.weight);
    let num_gpus = pick_weighted(rng, &GPU_COUNTS, |count| count.1).0;
    let country = pick_weighted(rng, &COUNTRIES, |country| country.weight);
    let region = country.regions[rng.random_range(0..country.regions.len())];
    let (driver_version, driver_vers, cuda_max_good) = DRIVERS[rng.random_range(0..DRIVERS.len())];
    let gpus = f64::from(num_gpus);
    let per_gpu = round_to(rng.random_range(model.price_range.0..=model.price_range.1), 3);
    let on_demand_dph = round_to(per_gpu * gpus, 4);
    let reliability = round_to(rng.random_range(0.90..=0.999), 4);
    let datacenter = rng.random_bool(if model.datacenter_part { 0.7 } else { 0.15 });
    let cpu_cores = [16, 32, 64, 128][rng.random_range(0..4)];
    let dlperf = round_to(model.dlperf * gpus * rng.random_range(0.85..=1.05), 2);
    let duration = round_to(rng.random_range(1.0..=180.0) * 86_400.0, 1);
    let verification = match rng.random_range(0..100) {
        0..85 => "verified",
        85..95 => "unverified",
        _ => "deverified",
    };
    VastOffer {
        id,
        ask_contract_id: id,
        bundle_id: rng.random_range(900_000_000..999_999_999),
        machine_id: rng.random_range(1_000..99_999),
        host_id: rng.random_range(1_000..299_999),
        num_gpus,
        gpu_name: model.vastai_name,
        gpu_arch: "nvidia",
        gpu_ram: model.vram_mb,
        gpu_total_ram: model.vram_mb * num_gpus,
        gpu_frac: 1.0,
        gpu_lanes: 16,
        gpu_mem_bw: model.mem_bw,
        gpu_max_power: model.max_power,
        gpu_max_temp: rng.random_range(83..=92),
        gpu_display_active: false,
        bw_nvlink: if model.vastai_name.contains("SXM") || model.vastai_name == "H200" {
            600.0
        } else {
            0.0
        },
        cpu_name: CPU_NAMES[rng.random_range(0..CPU_NAMES.len())],
        cpu_arch: "amd64",
        cpu_cores,
        cpu_cores_effective: round_to(f64::from(cpu_cores) * rng.random_range(0.25..=1.0), 1).max(2.0),
        cpu_ghz: round_to(rng.random_range(2.0..=5.5), 1),
        cpu_ram: num_gpus * [32, 64, 128][rng.random_range(0..3)] * 1024,
        disk_space: round_to(rng.random_range(50.0..=4000.0), 1),
        disk_bw: round_to(rng.random_range(500.0..=6500.0), 1),
        disk_name: DISK_NAMES[rng.random_range(0..DISK_NAMES.len())],
        pci_gen: [3.0, 4.0, 5.0][rng.random_range(0..3)],
        pcie_bw: round_to(rng.random_range(10.0..=50.0), 1),
        mobo_name: MOBO_NAMES[rng.random_range(0..MOBO_NAMES.len())],
        os_version: "22.04",
        storage_cost: STORAGE_COSTS[rng.random_range(0..STORAGE_COSTS.len())],
        min_bid: round_to(on_demand_dph * rng.random_range(0.35..=0.7), 4),
        credit_discount_max: round_to(rng.random_range(0.1..=0.4), 2),
        inet_up: round_to(rng.random_range(50.0..=10_000.0), 1),
        inet_down: round_to(rng.random_range(100.0..=10_000.0), 1),
        inet_up_cost: round_to(rng.random_range(0.0..=0.02), 4),
        inet_down_cost: round_to(rng.random_range(0.0..=0.02), 4),
        reliability,
        reliability2: round_to((reliability - rng.random_range(0.0..=0.01)).max(0.9), 4),
        geolocation: format!("{region}, {}", country.iso2),
        geolocode: rng.random_range(10_000_000..99_999_999),
        verification,
        hosting_type: u32::from(datacenter),
        datacenter,
        rentable: rng.random_bool(0.97),
        external: rng.random_bool(0.08),
        static_ip: rng.random_bool(0.6),
        public_ipaddr: documentation_address(rng),
        direct_port_count: if rng.random_bool(0.8) {
            rng.random_range(10..=1000)
        } else {
            0
        },
        cuda_max_good,
        driver_version,
        driver_vers,
        compute_cap: model.compute_cap,
        has_avx: true,
        vms_enabled: rng.random_bool(0.2),
        dlperf,
        score: round_to(dlperf / on_demand_dph * reliability, 2),
        total_flops: round_to(model.tflops * gpus, 1),
        duration,
        start_date: round_to(LISTING_EPOCH - rng.random_range(0.0..=30.0 * 86_400.0), 1),
        end_date: LISTING_EPOCH + duration,
        resource_type: "gpu",
        cluster_id: None,
        on_demand_dph,
        listing: Map::new(),
        listing_json: String::new(),
    }
}

/// Renders an object's members, `"a":1,"b":2`, without the enclosing braces.
fn members(listing: &Map<String, Value>) -> String {
    let text = serde_json::to_string(listing).unwrap_or_default();
    text.strip_prefix('{')
        .and_then(|inner| inner.strip_suffix('}'))
        .unwrap_or_default()
        .to_owned()
}

fn listing(offer: &VastOffer) -> Map<String, Value> {
    // Serializing plain numbers, strings and bools into a Value cannot fail.
    match serde_json::to_value(offer) {
        Ok(Value::Object(listing)) => listing,
        _ => Map::new(),
    }
}

/// Returns an address from the documentation ranges: offers describe machines nobody can reach.
fn documentation_address(rng: &mut StdRng) -> String {
    let prefix = if rng.random_bool(0.5) {
        "203.0.113"
    } else {
        "198.51.100"
    };
    format!("{prefix}.{}", rng.random_range(1..=254))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_listing_holds_every_serialized_key() {
        let offers = generate_offers(1, 1);
        let offer = offers.values().next().unwrap();
        assert_eq!(offer.listing["gpu_name"], json!(offer.gpu_name));
        assert!(!offer.listing.contains_key("on_demand_dph"));
        assert!(!offer.listing.contains_key("listing"));
    }

    #[test]
    fn prices_stay_in_the_models_range() {
        for offer in generate_offers(9, 500).values() {
            let model = GPU_MODELS
                .iter()
                .find(|model| model.vastai_name == offer.gpu_name)
                .unwrap();
            let per_gpu = offer.on_demand_dph / f64::from(offer.num_gpus);
            assert!(per_gpu >= model.price_range.0 - 0.001 && per_gpu <= model.price_range.1 + 0.001);
        }
    }
}
