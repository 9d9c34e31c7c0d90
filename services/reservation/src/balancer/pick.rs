//! The five strategies: which of a user's eligible instances gets the next request.

use std::collections::HashMap;

use gpuproxy_domain::LbStrategy;

use super::load::Load;

/// One instance the next request may go to.
#[derive(Debug, Clone, Copy)]
pub struct Candidate<'a> {
    /// The instance's key in the balancer.
    pub key: &'a str,
    /// Its `weighted_round_robin` weight.
    pub weight: f64,
    /// Its traffic so far.
    pub load: &'a Load,
}

/// Per-user state the turn-taking strategies carry from one pick to the next.
#[derive(Debug, Default)]
pub struct Turns {
    /// `round_robin`: picks made so far.
    next: usize,
    /// `weighted_round_robin`: each instance's current weight (smooth weighted round robin).
    current: HashMap<String, f64>,
}

/// Returns the index in `candidates` of the instance to use, or `None` when there are none.
/// Candidates come in a stable order (oldest instance first); ties go to the earliest.
pub fn pick(strategy: LbStrategy, candidates: &[Candidate<'_>], turns: &mut Turns) -> Option<usize> {
    if candidates.is_empty() {
        return None;
    }
    let index = match strategy {
        LbStrategy::RoundRobin => {
            let index = turns.next % candidates.len();
            turns.next = turns.next.wrapping_add(1);
            index
        }
        LbStrategy::EqualWeighted => min_by(candidates, |c| (c.load.total, c.load.active)),
        LbStrategy::LeastConnections => min_by(candidates, |c| (c.load.active, c.load.total)),
        LbStrategy::LeastResponseTime => {
            // Expected wait: the average answer time for each request in flight plus this one, so a
            // fast instance is not piled on until it becomes the slow one. An unmeasured idle
            // instance goes first, so every instance gets measured; an unmeasured busy one waits for
            // its first answer (it may be hung).
            let score = |c: &Candidate<'_>| match (c.load.avg_response_ms, c.load.active) {
                (None, 0) => f64::NEG_INFINITY,
                (None, _) => f64::INFINITY,
                (Some(avg), active) => avg * f64::from(active.saturating_add(1)),
            };
            let mut best = 0;
            for (index, candidate) in candidates.iter().enumerate().skip(1) {
                if score(candidate) < score(&candidates[best]) {
                    best = index;
                }
            }
            best
        }
        LbStrategy::WeightedRoundRobin => smooth_weighted(candidates, turns),
    };
    Some(index)
}

fn min_by<K: Ord>(candidates: &[Candidate<'_>], key: impl Fn(&Candidate<'_>) -> K) -> usize {
    let mut best = 0;
    for (index, candidate) in candidates.iter().enumerate().skip(1) {
        if key(candidate) < key(&candidates[best]) {
            best = index;
        }
    }
    best
}

/// nginx's smooth weighted round robin: over any run of picks each instance's share tends to its
/// weight's share, and heavy instances are interleaved with light ones rather than served in bursts.
fn smooth_weighted(candidates: &[Candidate<'_>], turns: &mut Turns) -> usize {
    turns
        .current
        .retain(|key, _| candidates.iter().any(|candidate| candidate.key == key));
    let total: f64 = candidates.iter().map(|candidate| candidate.weight).sum();
    let mut best = 0;
    let mut best_weight = f64::NEG_INFINITY;
    for (index, candidate) in candidates.iter().enumerate() {
        let current = turns.current.entry(candidate.key.to_owned()).or_insert(0.0);
        *current += candidate.weight;
        if *current > best_weight {
            best_weight = *current;
            best = index;
        }
    }
    if let Some(current) = turns.current.get_mut(candidates[best].key) {
        *current -= total;
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shares(strategy: LbStrategy, weights: &[f64], picks: usize) -> Vec<usize> {
        let keys: Vec<String> = (0..weights.len()).map(|index| format!("i{index}")).collect();
        let mut loads = vec![Load::default(); weights.len()];
        let mut turns = Turns::default();
        let mut counts = vec![0; weights.len()];
        for _ in 0..picks {
            let candidates: Vec<Candidate<'_>> = keys
                .iter()
                .zip(weights)
                .zip(&loads)
                .map(|((key, weight), load)| Candidate {
                    key,
                    weight: *weight,
                    load,
                })
                .collect();
            let chosen = pick(strategy, &candidates, &mut turns).expect("a pick");
            counts[chosen] += 1;
            loads[chosen].start(0);
            // Every request ends at once: totals grow, nothing stays active.
            loads[chosen].active = 0;
        }
        counts
    }

    #[test]
    fn round_robin_is_exact() {
        assert_eq!(
            shares(LbStrategy::RoundRobin, &[1.0, 3.0, 1.0], 300),
            [100, 100, 100]
        );
    }

    #[test]
    fn weighted_round_robin_is_proportional_to_weights() {
        let counts = shares(LbStrategy::WeightedRoundRobin, &[3.0, 2.0, 1.5, 1.0], 7500);
        assert_eq!(counts, [3000, 2000, 1500, 1000]);
    }

    #[test]
    fn equal_weighted_evens_out_total_connections() {
        let counts = shares(LbStrategy::EqualWeighted, &[1.0, 1.0, 1.0, 1.0], 1001);
        assert!(
            counts.iter().all(|count| (250..=251).contains(count)),
            "{counts:?}"
        );
    }

    #[test]
    fn least_connections_prefers_the_idlest_instance() {
        let busy = Load {
            active: 5,
            ..Load::default()
        };
        let idle = Load {
            active: 1,
            ..Load::default()
        };
        let candidates = [
            Candidate {
                key: "busy",
                weight: 1.0,
                load: &busy,
            },
            Candidate {
                key: "idle",
                weight: 1.0,
                load: &idle,
            },
        ];
        assert_eq!(
            pick(LbStrategy::LeastConnections, &candidates, &mut Turns::default()),
            Some(1)
        );
    }

    #[test]
    fn least_response_time_avoids_the_slow_instance_and_measures_new_ones_first() {
        let slow = Load {
            avg_response_ms: Some(200.0),
            ..Load::default()
        };
        let fast = Load {
            avg_response_ms: Some(10.0),
            active: 3,
            ..Load::default()
        };
        let new = Load::default();
        let mut turns = Turns::default();
        let measured = [
            Candidate {
                key: "slow",
                weight: 1.0,
                load: &slow,
            },
            Candidate {
                key: "fast",
                weight: 1.0,
                load: &fast,
            },
        ];
        assert_eq!(
            pick(LbStrategy::LeastResponseTime, &measured, &mut turns),
            Some(1)
        );
        let with_new = [
            measured[0],
            measured[1],
            Candidate {
                key: "new",
                weight: 1.0,
                load: &new,
            },
        ];
        assert_eq!(
            pick(LbStrategy::LeastResponseTime, &with_new, &mut turns),
            Some(2)
        );
    }

    #[test]
    fn nothing_to_pick_from_is_none() {
        assert_eq!(pick(LbStrategy::RoundRobin, &[], &mut Turns::default()), None);
    }
}
