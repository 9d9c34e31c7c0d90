//! The order in which a reservation tries offers.

use std::collections::{BTreeMap, VecDeque};

use gpuproxy_domain::LbStrategy;
use gpuproxy_proto::gpuproxy::catalog::v1::Offer;

use super::weight_of;

/// Orders `offers` for a reservation under `strategy`. `weighted_round_robin` puts the heaviest
/// (most VRAM, then cheapest) first, so a reservation gets the GPUs the balancer would favour.
/// Every other strategy spreads the reservation over the providers: the cheapest offer of each
/// provider in turn, so that one provider's outage or sell-out costs the fewest slots.
pub fn order_offers(strategy: LbStrategy, mut offers: Vec<Offer>) -> Vec<Offer> {
    offers.sort_by_key(|offer| offer.price_micros_per_hour);
    if strategy == LbStrategy::WeightedRoundRobin {
        offers.sort_by(|a, b| {
            let weight = |offer: &Offer| weight_of(i64::from(offer.vram_gb), offer.price_micros_per_hour);
            weight(b).total_cmp(&weight(a))
        });
        return offers;
    }
    let mut by_provider: BTreeMap<String, VecDeque<Offer>> = BTreeMap::new();
    for offer in offers {
        by_provider
            .entry(offer.provider.clone())
            .or_default()
            .push_back(offer);
    }
    let mut ordered = Vec::new();
    while !by_provider.is_empty() {
        by_provider.retain(|_, queue| {
            if let Some(offer) = queue.pop_front() {
                ordered.push(offer);
            }
            !queue.is_empty()
        });
    }
    ordered
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offer(id: &str, provider: &str, vram_gb: i32, price: i64) -> Offer {
        Offer {
            offer_id: id.to_owned(),
            provider: provider.to_owned(),
            vram_gb,
            price_micros_per_hour: price,
            ..Offer::default()
        }
    }

    fn ids(offers: &[Offer]) -> Vec<&str> {
        offers.iter().map(|offer| offer.offer_id.as_str()).collect()
    }

    #[test]
    fn round_robin_alternates_providers_cheapest_first() {
        let offers = vec![
            offer("v2", "vast.ai", 24, 300_000),
            offer("v1", "vast.ai", 24, 200_000),
            offer("v3", "vast.ai", 24, 400_000),
            offer("i1", "io.net", 24, 900_000),
        ];
        assert_eq!(
            ids(&order_offers(LbStrategy::RoundRobin, offers)),
            ["i1", "v1", "v2", "v3"]
        );
    }

    #[test]
    fn weighted_round_robin_puts_big_cheap_gpus_first() {
        let offers = vec![
            offer("small", "vast.ai", 16, 100_000),
            offer("big", "io.net", 80, 2_000_000),
            offer("mid", "vast.ai", 48, 900_000),
        ];
        assert_eq!(
            ids(&order_offers(LbStrategy::WeightedRoundRobin, offers)),
            ["big", "mid", "small"]
        );
    }
}
