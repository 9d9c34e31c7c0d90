//! The vast.ai market: listed offers, which of them are rented, and the instances renting them.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use rand::RngExt;
use rand::rngs::StdRng;

use crate::lifecycle::{ActualStatus, Timing};
use crate::market::seeded_rng;
use crate::vastai::instance::VastInstance;
use crate::vastai::offers::{VastOffer, generate_offers};

/// Stream number of the generator behind instance keys and tokens.
const SECRET_RNG_STREAM: u64 = 2;

/// Id of the first instance; vast.ai instance ids are seven or eight digits.
const FIRST_INSTANCE_ID: u64 = 10_000_001;

/// Why an offer cannot be rented.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RentRefusal {
    /// The offer never existed or has vanished: 404.
    Unknown,
    /// The offer is rented or not rentable: 410.
    Unavailable,
}

/// Offers, rentals and instances of the simulated vast.ai.
#[derive(Debug)]
pub(crate) struct VastMarket {
    offers: BTreeMap<u64, VastOffer>,
    /// Offer ids rented by an instance; they are left out of searches until the instance is destroyed.
    rented: BTreeSet<u64>,
    instances: BTreeMap<u64, VastInstance>,
    next_instance_id: u64,
    secrets: StdRng,
}

impl VastMarket {
    /// Generates the market from the seed.
    pub(crate) fn generate(seed: u64, offer_count: usize) -> Self {
        Self {
            offers: generate_offers(seed, offer_count),
            rented: BTreeSet::new(),
            instances: BTreeMap::new(),
            next_instance_id: FIRST_INSTANCE_ID,
            secrets: seeded_rng(seed, SECRET_RNG_STREAM),
        }
    }

    /// Returns the offers a search sees: every offer not rented, by ascending id.
    pub(crate) fn listed_offers(&self) -> impl Iterator<Item = &VastOffer> {
        self.offers
            .values()
            .filter(|offer| !self.rented.contains(&offer.id))
    }

    /// Returns how many listed offers can be rented.
    pub(crate) fn available_offer_count(&self) -> usize {
        self.listed_offers().filter(|offer| offer.rentable).count()
    }

    /// Removes an offer from the market for good, as when another customer rents it first.
    pub(crate) fn remove_offer(&mut self, offer_id: u64) {
        if !self.rented.contains(&offer_id) {
            self.offers.remove(&offer_id);
        }
    }

    /// Returns the offer if it can be rented now.
    pub(crate) fn offer_for_rent(&self, offer_id: u64) -> Result<&VastOffer, RentRefusal> {
        let offer = self.offers.get(&offer_id).ok_or(RentRefusal::Unknown)?;
        if self.rented.contains(&offer_id) || !offer.rentable {
            return Err(RentRefusal::Unavailable);
        }
        Ok(offer)
    }

    /// Returns the id the next instance gets.
    pub(crate) fn next_instance_id(&self) -> u64 {
        self.next_instance_id
    }

    /// Returns `bytes` random bytes as lower-case hex, for keys and tokens.
    pub(crate) fn secret_hex(&mut self, bytes: usize) -> String {
        (0..bytes)
            .map(|_| format!("{:02x}", self.secrets.random::<u8>()))
            .collect()
    }

    /// Adds an instance and takes its offer off the market.
    pub(crate) fn insert_instance(&mut self, instance: VastInstance) {
        debug_assert_eq!(instance.id, self.next_instance_id, "instances take ids in order");
        self.next_instance_id += 1;
        self.rented.insert(instance.offer.id);
        self.instances.insert(instance.id, instance);
    }

    /// Returns every instance by ascending id.
    pub(crate) fn instances(&self) -> impl Iterator<Item = &VastInstance> {
        self.instances.values()
    }

    pub(crate) fn instance(&self, instance_id: u64) -> Option<&VastInstance> {
        self.instances.get(&instance_id)
    }

    pub(crate) fn instance_mut(&mut self, instance_id: u64) -> Option<&mut VastInstance> {
        self.instances.get_mut(&instance_id)
    }

    pub(crate) fn instance_count(&self) -> usize {
        self.instances.len()
    }

    /// Returns the container state of an instance, if it exists.
    pub(crate) fn actual_status(
        &self,
        instance_id: u64,
        now: Instant,
        timing: Timing,
    ) -> Option<ActualStatus> {
        self.instances
            .get(&instance_id)
            .map(|instance| instance.run.actual(now, timing))
    }

    /// Removes an instance and puts its offer back on the market.
    pub(crate) fn remove_instance(&mut self, instance_id: u64) -> Option<VastInstance> {
        let instance = self.instances.remove(&instance_id)?;
        self.rented.remove(&instance.offer.id);
        Some(instance)
    }
}
