//! What a vast.ai offer costs: `dph_base`, `dph_total` per spec §2.3, and the other keys of an offer
//! object that depend on the search's `type` and `allocated_storage`.

use std::borrow::Cow;

use serde_json::{Value, json};

use crate::market::round_to;
use crate::vastai::offers::VastOffer;
use crate::vastai::query::OfferFields;

/// Hours in the month vast.ai bills storage over: `storage_cost` is $/GB/month.
const HOURS_PER_MONTH: f64 = 720.0;

/// The keys [`PricedOffer`] adds to an offer's listing.
const PRICED_KEYS: [&str; 11] = [
    "dph_base",
    "dph_total",
    "discounted_dph_total",
    "storage_total_cost",
    "is_bid",
    "rented",
    "dlperf_per_dphtotal",
    "flops_per_dphtotal",
    "vram_costperhour",
    "search",
    "instance",
];

/// Which price a search reports, from its `type` control key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum OfferType {
    OnDemand,
    /// Interruptible: the GPUs cost the current `min_bid`.
    Bid,
    /// Reserved: the on-demand price less `credit_discount_max`.
    Reserved,
}

/// What a price depends on besides the offer: the rental type and the GB of disk to include.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Pricing {
    pub(crate) kind: OfferType,
    pub(crate) allocated_storage: f64,
}

/// One priced rental, in $/hour, as the `search` and `instance` objects spell it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Price {
    pub(crate) gpu_per_hour: f64,
    pub(crate) disk_per_hour: f64,
    pub(crate) total_per_hour: f64,
    pub(crate) discount_per_hour: f64,
}

impl Price {
    /// Returns the price of renting `offer`: `dph_total = dph_base + GB × storage_cost / 720`,
    /// less the reserved discount.
    pub(crate) fn of(offer: &VastOffer, pricing: Pricing) -> Self {
        let gpu_per_hour = match pricing.kind {
            OfferType::OnDemand | OfferType::Reserved => offer.on_demand_dph,
            OfferType::Bid => offer.min_bid,
        };
        let disk_per_hour = pricing.allocated_storage * offer.storage_cost / HOURS_PER_MONTH;
        let total_per_hour = gpu_per_hour + disk_per_hour;
        let discount_per_hour = match pricing.kind {
            OfferType::Reserved => total_per_hour * offer.credit_discount_max,
            OfferType::OnDemand | OfferType::Bid => 0.0,
        };
        Self {
            gpu_per_hour,
            disk_per_hour,
            total_per_hour,
            discount_per_hour,
        }
    }

    /// Returns what the renter pays per hour: `dph_total`.
    pub(crate) fn discounted_total(&self) -> f64 {
        self.total_per_hour - self.discount_per_hour
    }

    fn to_json(self) -> Value {
        json!({
            "gpuCostPerHour": self.gpu_per_hour,
            "diskHour": self.disk_per_hour,
            "totalHour": self.total_per_hour,
            "discountTotalHour": self.discount_per_hour,
            "discountedTotalPerHour": self.discounted_total(),
        })
    }
}

/// An offer as one search sees it; fields are read without building the JSON object, which only
/// the offers a search returns need.
#[derive(Clone, Copy, Debug)]
pub(crate) struct PricedOffer<'a> {
    offer: &'a VastOffer,
    kind: OfferType,
    price: Price,
}

impl<'a> PricedOffer<'a> {
    pub(crate) fn new(offer: &'a VastOffer, pricing: Pricing) -> Self {
        Self {
            offer,
            kind: pricing.kind,
            price: Price::of(offer, pricing),
        }
    }

    fn priced_field(&self, key: &str) -> Option<Value> {
        let dph_total = self.price.discounted_total();
        Some(match key {
            "dph_base" => json!(self.price.gpu_per_hour),
            "dph_total" | "discounted_dph_total" => json!(dph_total),
            "storage_total_cost" => json!(self.price.disk_per_hour),
            "is_bid" => json!(self.kind == OfferType::Bid),
            // Rented offers are not listed at all.
            "rented" => json!(false),
            "dlperf_per_dphtotal" => json!(round_to(self.offer.dlperf / dph_total, 2)),
            "flops_per_dphtotal" => json!(round_to(self.offer.total_flops / dph_total, 2)),
            "vram_costperhour" => json!(dph_total / (f64::from(self.offer.gpu_total_ram) / 1024.0)),
            "search" | "instance" => self.price.to_json(),
            _ => return None,
        })
    }
}

impl PricedOffer<'_> {
    /// Appends the offer object of a search response: the pre-rendered listing, then the priced
    /// keys. A search of thousands of offers copies each listing's text instead of serializing
    /// seventy keys per offer again.
    pub(crate) fn write_json(&self, out: &mut Vec<u8>) -> serde_json::Result<()> {
        out.push(b'{');
        out.extend_from_slice(self.offer.listing_json.as_bytes());
        let mut first = self.offer.listing_json.is_empty();
        for key in PRICED_KEYS {
            if let Some(value) = self.priced_field(key) {
                if !first {
                    out.push(b',');
                }
                first = false;
                serde_json::to_writer(&mut *out, key)?;
                out.push(b':');
                serde_json::to_writer(&mut *out, &value)?;
            }
        }
        out.push(b'}');
        Ok(())
    }
}

impl OfferFields for PricedOffer<'_> {
    fn field(&self, name: &str) -> Option<Cow<'_, Value>> {
        match self.priced_field(name) {
            Some(value) => Some(Cow::Owned(value)),
            None => self.offer.listing.get(name).map(Cow::Borrowed),
        }
    }

    fn id(&self) -> u64 {
        self.offer.id
    }
}

#[cfg(test)]
mod tests {
    use serde::ser::{Serialize, SerializeMap, Serializer};

    use super::*;

    /// The straightforward serialization, kept as the oracle the fast writer must match byte for byte.
    impl Serialize for PricedOffer<'_> {
        fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            let mut object = serializer.serialize_map(Some(self.offer.listing.len() + PRICED_KEYS.len()))?;
            for (key, value) in &self.offer.listing {
                debug_assert!(!PRICED_KEYS.contains(&key.as_str()), "{key} is priced per search");
                object.serialize_entry(key, value)?;
            }
            for key in PRICED_KEYS {
                if let Some(value) = self.priced_field(key) {
                    object.serialize_entry(key, &value)?;
                }
            }
            object.end()
        }
    }

    #[test]
    fn the_fast_writer_matches_serde() {
        let offers = crate::vastai::offers::generate_offers(7, 5);
        for offer in offers.values() {
            for kind in [OfferType::OnDemand, OfferType::Bid, OfferType::Reserved] {
                let pricing = Pricing {
                    kind,
                    allocated_storage: 10.0,
                };
                let priced = PricedOffer::new(offer, pricing);
                let mut fast = Vec::new();
                priced.write_json(&mut fast).expect("written");
                assert_eq!(fast, serde_json::to_vec(&priced).expect("serialized"));
            }
        }
    }
    use crate::vastai::offers::generate_offers;

    #[test]
    fn dph_total_adds_the_allocated_storage_cost() {
        let offers = generate_offers(1, 1);
        let offer = offers.values().next().unwrap();
        let priced = PricedOffer::new(
            offer,
            Pricing {
                kind: OfferType::OnDemand,
                allocated_storage: 10.0,
            },
        );
        let object = serde_json::to_value(priced).unwrap();
        let expected = offer.on_demand_dph + 10.0 * offer.storage_cost / 720.0;
        assert_eq!(object["dph_total"], json!(expected));
        assert_eq!(object["dph_base"], json!(offer.on_demand_dph));
        assert_eq!(object["gpu_name"], json!(offer.gpu_name));
    }

    #[test]
    fn bids_are_priced_at_the_minimum_bid() {
        let offers = generate_offers(1, 1);
        let offer = offers.values().next().unwrap();
        let price = Price::of(
            offer,
            Pricing {
                kind: OfferType::Bid,
                allocated_storage: 0.0,
            },
        );
        assert_eq!(price.discounted_total(), offer.min_bid);
    }

    #[test]
    fn reserved_prices_carry_the_discount() {
        let offers = generate_offers(1, 1);
        let offer = offers.values().next().unwrap();
        let price = Price::of(
            offer,
            Pricing {
                kind: OfferType::Reserved,
                allocated_storage: 0.0,
            },
        );
        let expected = offer.on_demand_dph * (1.0 - offer.credit_discount_max);
        assert!((price.discounted_total() - expected).abs() < 1e-12);
    }

    #[test]
    fn fields_read_through_match_the_built_object() {
        let offers = generate_offers(3, 1);
        let offer = offers.values().next().unwrap();
        let priced = PricedOffer::new(
            offer,
            Pricing {
                kind: OfferType::OnDemand,
                allocated_storage: 5.0,
            },
        );
        let Value::Object(object) = serde_json::to_value(priced).unwrap() else {
            panic!("an object")
        };
        for (key, value) in object {
            assert_eq!(priced.field(&key).as_deref(), Some(&value), "{key}");
        }
    }
}
