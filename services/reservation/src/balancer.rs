//! The load balancer: each user's running instances, their traffic, and the user's strategy.
//!
//! Layout: `load.rs` is one instance's traffic and health; `pick.rs` the five strategies as pure
//! functions. State lives in this process's memory (the reservation service is its only writer);
//! the strategy choices are also stored, so a restart keeps them.

mod load;
mod pick;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use gpuproxy_domain::{LbStrategy, UserId};

pub use load::{Load, Unhealthy};
pub use pick::{Candidate, Turns, pick};

/// An instance in a user's rotation.
#[derive(Debug, Clone, PartialEq)]
pub struct Member {
    /// The row id.
    pub row_id: String,
    /// The provider's id, which callers see.
    pub instance_id: String,
    /// `vast.ai` or `io.net`.
    pub provider: String,
    /// `http://host:port`.
    pub base_url: String,
    /// Its `weighted_round_robin` weight.
    pub weight: f64,
}

/// What one pick chose.
#[derive(Debug, Clone, PartialEq)]
pub struct Picked {
    /// The instance's provider id.
    pub instance_id: String,
    /// Its provider.
    pub provider: String,
    /// Where its traffic goes.
    pub base_url: String,
    /// The strategy that chose it.
    pub strategy: LbStrategy,
}

/// One instance's figures, for load reports.
#[derive(Debug, Clone)]
pub struct MemberLoad {
    /// The instance.
    pub member: Member,
    /// Its traffic.
    pub load: Load,
    /// Whether it is in the rotation now.
    pub healthy: bool,
}

/// The balancer. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Balancer {
    inner: Arc<Mutex<State>>,
    default_strategy: LbStrategy,
    enabled: bool,
    unhealthy: Unhealthy,
}

/// Keyed by user or instance id. Looked up on every proxied request: foldhash rather than SipHash,
/// whose keys here are ids the service made, not text a caller chose.
type Map<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

#[derive(Debug, Default)]
struct State {
    strategies: Map<UserId, LbStrategy>,
    rotations: Map<UserId, Rotation>,
    /// By provider instance id.
    loads: Map<String, Load>,
}

#[derive(Debug, Default)]
struct Rotation {
    members: Vec<Member>,
    turns: Turns,
}

impl Balancer {
    /// Returns an empty balancer. With `enabled` false (`LB_ENABLED=false`), every request goes to
    /// the user's oldest eligible instance.
    pub fn new(default_strategy: LbStrategy, enabled: bool, unhealthy: Unhealthy) -> Self {
        Balancer {
            inner: Arc::new(Mutex::new(State::default())),
            default_strategy,
            enabled,
            unhealthy,
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves counters, never broken invariants: keep serving.
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Returns `user_id`'s strategy.
    pub fn strategy(&self, user_id: UserId) -> LbStrategy {
        self.state()
            .strategies
            .get(&user_id)
            .copied()
            .unwrap_or(self.default_strategy)
    }

    /// Sets `user_id`'s strategy; it applies from the next pick.
    pub fn set_strategy(&self, user_id: UserId, strategy: LbStrategy) {
        self.state().strategies.insert(user_id, strategy);
    }

    /// Adds (or updates) an instance in `user_id`'s rotation.
    pub fn add(&self, user_id: UserId, member: Member) {
        let mut state = self.state();
        state.loads.entry(member.instance_id.clone()).or_default();
        let rotation = state.rotations.entry(user_id).or_default();
        match rotation
            .members
            .iter_mut()
            .find(|known| known.row_id == member.row_id)
        {
            Some(known) => *known = member,
            None => rotation.members.push(member),
        }
    }

    /// Takes an instance out of every rotation and forgets its figures.
    pub fn remove(&self, instance_id: &str) {
        let mut state = self.state();
        state.loads.remove(instance_id);
        state.rotations.retain(|_, rotation| {
            rotation
                .members
                .retain(|member| member.instance_id != instance_id);
            !rotation.members.is_empty()
        });
    }

    /// Picks one of `user_id`'s eligible instances and counts a request on it.
    pub fn pick(&self, user_id: UserId, now_ms: i64) -> Option<Picked> {
        let now = Instant::now();
        let mut state = self.state();
        let State {
            strategies,
            rotations,
            loads,
        } = &mut *state;
        let strategy = strategies.get(&user_id).copied().unwrap_or(self.default_strategy);
        let rotation = rotations.get_mut(&user_id)?;
        let idle = Load::default();
        // Each candidate's position among the members, beside it, so one vector serves both.
        let mut positions = Vec::with_capacity(rotation.members.len());
        let candidates: Vec<Candidate<'_>> = rotation
            .members
            .iter()
            .enumerate()
            .filter_map(|(index, member)| {
                let load = loads.get(&member.instance_id).unwrap_or(&idle);
                load.is_eligible(now).then(|| {
                    positions.push(index);
                    Candidate {
                        key: member.instance_id.as_str(),
                        weight: member.weight,
                        load,
                    }
                })
            })
            .collect();
        let chosen = if self.enabled {
            pick(strategy, &candidates, &mut rotation.turns)?
        } else if candidates.is_empty() {
            return None;
        } else {
            0
        };
        let member = &rotation.members[positions[chosen]];
        match loads.get_mut(&member.instance_id) {
            Some(load) => load.start(now_ms),
            None => loads.entry(member.instance_id.clone()).or_default().start(now_ms),
        }
        Some(Picked {
            instance_id: member.instance_id.clone(),
            provider: member.provider.clone(),
            base_url: member.base_url.clone(),
            strategy,
        })
    }

    /// Ends a request counted by [`Balancer::pick`] (`picked`), or records one sent to the instance
    /// by URL. Unknown instances (destroyed meanwhile) are ignored.
    pub fn report(&self, instance_id: &str, success: bool, latency: Duration, picked: bool, now_ms: i64) {
        if let Some(load) = self.state().loads.get_mut(instance_id) {
            if picked {
                load.finish(success, latency, self.unhealthy, Instant::now(), now_ms);
            } else {
                load.observe(success, latency, self.unhealthy, Instant::now(), now_ms);
            }
        }
    }

    /// Records a health probe of an instance.
    pub fn probed(&self, instance_id: &str, healthy: bool) {
        if let Some(load) = self.state().loads.get_mut(instance_id) {
            load.probed(healthy, self.unhealthy, Instant::now());
        }
    }

    /// Returns when an instance last served traffic, if it did since this process started.
    pub fn last_used_ms(&self, instance_id: &str) -> Option<i64> {
        self.state()
            .loads
            .get(instance_id)
            .and_then(|load| load.last_used_ms)
    }

    /// Returns whether requests are in flight on an instance.
    pub fn is_busy(&self, instance_id: &str) -> bool {
        self.state()
            .loads
            .get(instance_id)
            .is_some_and(|load| load.active > 0)
    }

    /// Returns the figures of `user_id`'s instances, oldest first.
    pub fn loads(&self, user_id: UserId) -> Vec<MemberLoad> {
        let now = Instant::now();
        let state = self.state();
        let Some(rotation) = state.rotations.get(&user_id) else {
            return Vec::new();
        };
        rotation
            .members
            .iter()
            .map(|member| {
                let load = state.loads.get(&member.instance_id).cloned().unwrap_or_default();
                MemberLoad {
                    healthy: load.is_healthy(now),
                    member: member.clone(),
                    load,
                }
            })
            .collect()
    }

    /// Returns every member of every rotation, for health probes.
    pub fn members(&self) -> Vec<Member> {
        self.state()
            .rotations
            .values()
            .flat_map(|rotation| rotation.members.iter().cloned())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALICE: UserId = UserId::from_u128(1);
    const BOB: UserId = UserId::from_u128(2);
    const CAROL: UserId = UserId::from_u128(3);

    fn member(id: &str) -> Member {
        Member {
            row_id: format!("row-{id}"),
            instance_id: id.to_owned(),
            provider: "vast.ai".to_owned(),
            base_url: format!("http://{id}"),
            weight: 1.0,
        }
    }

    fn balancer() -> Balancer {
        Balancer::new(
            LbStrategy::RoundRobin,
            true,
            Unhealthy {
                after: 2,
                cooldown: Duration::from_secs(60),
            },
        )
    }

    #[test]
    fn users_only_ever_get_their_own_instances() {
        let balancer = balancer();
        balancer.add(ALICE, member("a1"));
        balancer.add(BOB, member("b1"));
        for _ in 0..10 {
            assert_eq!(balancer.pick(ALICE, 0).expect("a pick").instance_id, "a1");
        }
        assert!(balancer.pick(CAROL, 0).is_none());
    }

    #[test]
    fn failing_instances_leave_the_rotation_and_a_success_brings_them_back() {
        let balancer = balancer();
        balancer.add(ALICE, member("a1"));
        balancer.add(ALICE, member("a2"));
        for _ in 0..2 {
            balancer.pick(ALICE, 0);
            balancer.report("a1", false, Duration::from_millis(1), true, 0);
        }
        for _ in 0..5 {
            assert_eq!(balancer.pick(ALICE, 0).expect("a pick").instance_id, "a2");
        }
        balancer.probed("a1", true);
        let picked: Vec<String> = (0..4)
            .map(|_| balancer.pick(ALICE, 0).expect("a pick").instance_id)
            .collect();
        assert!(picked.contains(&"a1".to_owned()), "{picked:?}");
    }

    #[test]
    fn a_strategy_switch_applies_to_the_next_pick() {
        let balancer = balancer();
        balancer.add(ALICE, member("a1"));
        balancer.add(ALICE, member("a2"));
        balancer.set_strategy(ALICE, LbStrategy::LeastConnections);
        // a1 has one request in flight, so least_connections sends the next to a2, twice in a row
        // once a2 finishes (round robin would have alternated).
        assert_eq!(balancer.pick(ALICE, 0).expect("a pick").instance_id, "a1");
        let second = balancer.pick(ALICE, 0).expect("a pick");
        assert_eq!(
            (second.instance_id.as_str(), second.strategy),
            ("a2", LbStrategy::LeastConnections)
        );
        balancer.report("a2", true, Duration::from_millis(1), true, 0);
        assert_eq!(balancer.pick(ALICE, 0).expect("a pick").instance_id, "a2");
        assert_eq!(balancer.strategy(BOB), LbStrategy::RoundRobin);
    }

    #[test]
    fn removed_instances_are_never_picked() {
        let balancer = balancer();
        balancer.add(ALICE, member("a1"));
        balancer.remove("a1");
        assert!(balancer.pick(ALICE, 0).is_none());
        assert!(balancer.loads(ALICE).is_empty());
    }
}
