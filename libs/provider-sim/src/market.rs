//! The seeded inventory both marketplaces draw from: GPU models, countries and the helpers that pick
//! from them reproducibly.
//!
//! Both providers sell the same nine GPU models in the same twenty countries, so a test can ask
//! either one for "an RTX 4090 in Germany" and expect an answer.

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

/// One GPU model as both marketplaces name and price it.
#[derive(Debug)]
pub(crate) struct GpuModel {
    /// `gpu_name` on vast.ai, with spaces (`"RTX 4090"`).
    pub(crate) vastai_name: &'static str,
    /// `hardware_name` on io.net.
    pub(crate) ionet_name: &'static str,
    /// `hardware_id` on io.net: small ints, 1xx for workstation cards and 2xx for data-centre cards.
    pub(crate) ionet_hardware_id: u32,
    /// Memory per GPU in MB, the unit of vast's `gpu_ram`.
    pub(crate) vram_mb: u32,
    /// On-demand $/GPU/hour range an offer's price is drawn from.
    pub(crate) price_range: (f64, f64),
    /// CUDA compute capability ×100, as vast reports it.
    pub(crate) compute_cap: u32,
    /// FP32 TFLOPS of one GPU.
    pub(crate) tflops: f64,
    /// vast's deep-learning performance score of one GPU.
    pub(crate) dlperf: f64,
    /// Memory bandwidth in GB/s.
    pub(crate) mem_bw: f64,
    /// Board power in watts.
    pub(crate) max_power: u32,
    /// True for data-centre parts, which are mostly hosted in data centres.
    pub(crate) datacenter_part: bool,
    /// Relative share of the market.
    pub(crate) weight: u32,
}

/// The models on sale, in io.net `hardware_id` order.
pub(crate) const GPU_MODELS: [GpuModel; 9] = [
    GpuModel {
        vastai_name: "RTX 3090",
        ionet_name: "GeForce RTX 3090",
        ionet_hardware_id: 101,
        vram_mb: 24576,
        price_range: (0.15, 0.35),
        compute_cap: 860,
        tflops: 35.6,
        dlperf: 21.0,
        mem_bw: 936.2,
        max_power: 350,
        datacenter_part: false,
        weight: 22,
    },
    GpuModel {
        vastai_name: "RTX 4090",
        ionet_name: "GeForce RTX 4090",
        ionet_hardware_id: 102,
        vram_mb: 24564,
        price_range: (0.30, 0.70),
        compute_cap: 890,
        tflops: 82.6,
        dlperf: 41.0,
        mem_bw: 1008.0,
        max_power: 450,
        datacenter_part: false,
        weight: 26,
    },
    GpuModel {
        vastai_name: "RTX A6000",
        ionet_name: "RTX A6000",
        ionet_hardware_id: 103,
        vram_mb: 49140,
        price_range: (0.40, 0.80),
        compute_cap: 860,
        tflops: 38.7,
        dlperf: 23.0,
        mem_bw: 768.0,
        max_power: 300,
        datacenter_part: false,
        weight: 10,
    },
    GpuModel {
        vastai_name: "L40S",
        ionet_name: "L40S",
        ionet_hardware_id: 104,
        vram_mb: 46068,
        price_range: (0.70, 1.20),
        compute_cap: 890,
        tflops: 91.6,
        dlperf: 46.0,
        mem_bw: 864.0,
        max_power: 350,
        datacenter_part: true,
        weight: 8,
    },
    GpuModel {
        vastai_name: "A100 PCIE",
        ionet_name: "A100-PCIE-40GB",
        ionet_hardware_id: 201,
        vram_mb: 40960,
        price_range: (0.80, 1.40),
        compute_cap: 800,
        tflops: 19.5,
        dlperf: 50.0,
        mem_bw: 1555.0,
        max_power: 250,
        datacenter_part: true,
        weight: 7,
    },
    GpuModel {
        vastai_name: "A100 SXM4",
        ionet_name: "A100-SXM4-80GB",
        ionet_hardware_id: 202,
        vram_mb: 81920,
        price_range: (1.10, 1.90),
        compute_cap: 800,
        tflops: 19.5,
        dlperf: 61.0,
        mem_bw: 2039.0,
        max_power: 400,
        datacenter_part: true,
        weight: 9,
    },
    GpuModel {
        vastai_name: "H100 SXM",
        ionet_name: "H100",
        ionet_hardware_id: 203,
        vram_mb: 81559,
        price_range: (1.80, 3.50),
        compute_cap: 900,
        tflops: 67.0,
        dlperf: 112.0,
        mem_bw: 3352.0,
        max_power: 700,
        datacenter_part: true,
        weight: 7,
    },
    GpuModel {
        vastai_name: "H100 PCIE",
        ionet_name: "H100-PCIE-80GB",
        ionet_hardware_id: 204,
        vram_mb: 81559,
        price_range: (1.80, 3.50),
        compute_cap: 900,
        tflops: 51.2,
        dlperf: 90.0,
        mem_bw: 2039.0,
        max_power: 350,
        datacenter_part: true,
        weight: 4,
    },
    GpuModel {
        vastai_name: "H200",
        ionet_name: "H200",
        ionet_hardware_id: 205,
        vram_mb: 143771,
        price_range: (2.80, 4.50),
        compute_cap: 900,
        tflops: 67.0,
        dlperf: 121.0,
        mem_bw: 4800.0,
        max_power: 700,
        datacenter_part: true,
        weight: 4,
    },
];

/// A country machines are hosted in; io.net calls it a location.
#[derive(Debug)]
pub(crate) struct Country {
    /// io.net location id.
    pub(crate) location_id: u32,
    pub(crate) iso2: &'static str,
    pub(crate) name: &'static str,
    /// Region names vast.ai puts before the country code in `geolocation`.
    pub(crate) regions: &'static [&'static str],
    /// Relative share of the machines.
    pub(crate) weight: u32,
}

/// The countries machines are hosted in; Germany has io.net location id 9 as in the spec example.
pub(crate) const COUNTRIES: [Country; 20] = [
    country(
        1,
        "US",
        "United States",
        &[
            "California",
            "Texas",
            "Virginia",
            "Oregon",
            "New York",
            "Illinois",
        ],
        30,
    ),
    country(2, "CA", "Canada", &["Quebec", "Ontario", "British Columbia"], 7),
    country(3, "BR", "Brazil", &["Sao Paulo"], 2),
    country(4, "GB", "United Kingdom", &["England", "Scotland"], 5),
    country(5, "FR", "France", &["Ile-de-France", "Hauts-de-France"], 4),
    country(6, "NL", "Netherlands", &["North Holland"], 4),
    country(7, "SE", "Sweden", &["Stockholm County"], 3),
    country(8, "NO", "Norway", &["Oslo"], 3),
    country(9, "DE", "Germany", &["Hesse", "Bavaria", "Berlin"], 6),
    country(10, "PL", "Poland", &["Masovia"], 3),
    country(11, "ES", "Spain", &["Madrid"], 2),
    country(12, "IT", "Italy", &["Lombardy"], 2),
    country(13, "FI", "Finland", &["Uusimaa"], 3),
    country(14, "CZ", "Czechia", &["Prague"], 2),
    country(15, "JP", "Japan", &["Tokyo", "Osaka"], 4),
    country(16, "KR", "South Korea", &["Seoul"], 3),
    country(17, "SG", "Singapore", &["Singapore"], 3),
    country(18, "IN", "India", &["Maharashtra"], 2),
    country(19, "AU", "Australia", &["New South Wales", "Victoria"], 3),
    country(20, "TW", "Taiwan", &["Taipei"], 2),
];

/// Returns a generator for one independent stream of the simulation, so that changing the size of
/// one marketplace does not reshuffle the other.
pub(crate) fn seeded_rng(seed: u64, stream: u64) -> StdRng {
    StdRng::seed_from_u64(seed ^ stream.wrapping_mul(0x9E37_79B9_7F4A_7C15))
}

/// Returns one item, each with probability proportional to its weight.
pub(crate) fn pick_weighted<'a, T>(rng: &mut StdRng, items: &'a [T], weight: impl Fn(&T) -> u32) -> &'a T {
    debug_assert!(!items.is_empty(), "the tables are never empty");
    let total: u32 = items.iter().map(&weight).sum();
    let mut ticket = rng.random_range(0..total.max(1));
    for item in items {
        let item_weight = weight(item);
        if ticket < item_weight {
            return item;
        }
        ticket -= item_weight;
    }
    &items[items.len() - 1]
}

/// Returns `value` rounded to `decimals` places, so generated prices read like real listings.
pub(crate) fn round_to(value: f64, decimals: i32) -> f64 {
    let scale = 10_f64.powi(decimals);
    (value * scale).round() / scale
}

/// Returns the GPU model io.net knows under `hardware_id`.
pub(crate) fn model_by_hardware_id(hardware_id: i64) -> Option<&'static GpuModel> {
    GPU_MODELS
        .iter()
        .find(|model| i64::from(model.ionet_hardware_id) == hardware_id)
}

/// Returns the country io.net knows under `location_id`.
pub(crate) fn country_by_location_id(location_id: i64) -> Option<&'static Country> {
    COUNTRIES
        .iter()
        .find(|country| i64::from(country.location_id) == location_id)
}

const fn country(
    location_id: u32,
    iso2: &'static str,
    name: &'static str,
    regions: &'static [&'static str],
    weight: u32,
) -> Country {
    Country {
        location_id,
        iso2,
        name,
        regions,
        weight,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pick_weighted_never_picks_a_zero_weight_item() {
        let mut rng = seeded_rng(7, 1);
        let items = [(1, 0), (2, 5), (3, 0)];
        for _ in 0..100 {
            assert_eq!(pick_weighted(&mut rng, &items, |item| item.1).0, 2);
        }
    }

    #[test]
    fn the_same_seed_and_stream_give_the_same_numbers() {
        let first: Vec<u32> = (0..5).map(|_| seeded_rng(42, 3).random_range(0..1000)).collect();
        let again: Vec<u32> = (0..5).map(|_| seeded_rng(42, 3).random_range(0..1000)).collect();
        assert_eq!(first, again);
    }

    #[test]
    fn hardware_ids_and_location_ids_are_unique() {
        let mut hardware: Vec<u32> = GPU_MODELS.iter().map(|model| model.ionet_hardware_id).collect();
        hardware.dedup();
        assert_eq!(hardware.len(), GPU_MODELS.len());
        let mut locations: Vec<u32> = COUNTRIES.iter().map(|country| country.location_id).collect();
        locations.dedup();
        assert_eq!(locations.len(), COUNTRIES.len());
    }
}
