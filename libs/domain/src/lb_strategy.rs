//! The load-balancing strategies of the original product.

use std::fmt;
use std::str::FromStr;

/// How the load balancer picks an instance for a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum LbStrategy {
    /// Each instance in turn.
    #[default]
    RoundRobin,
    /// The instance with the fewest total connections so far.
    EqualWeighted,
    /// In turn, proportionally to a weight from VRAM and price.
    WeightedRoundRobin,
    /// The instance with the fewest active connections.
    LeastConnections,
    /// The instance with the lowest average response time.
    LeastResponseTime,
}

/// Says that a name is not one of the five strategies.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{0:?} is not a strategy; expected round_robin, equal_weighted, weighted_round_robin, least_connections or least_response_time"
)]
pub struct UnknownLbStrategy(String);

impl LbStrategy {
    /// Every strategy, in the order the seeds list them.
    pub const ALL: [LbStrategy; 5] = [
        LbStrategy::RoundRobin,
        LbStrategy::EqualWeighted,
        LbStrategy::WeightedRoundRobin,
        LbStrategy::LeastConnections,
        LbStrategy::LeastResponseTime,
    ];

    /// Returns the name used in configuration and on the wire.
    pub const fn as_str(self) -> &'static str {
        match self {
            LbStrategy::RoundRobin => "round_robin",
            LbStrategy::EqualWeighted => "equal_weighted",
            LbStrategy::WeightedRoundRobin => "weighted_round_robin",
            LbStrategy::LeastConnections => "least_connections",
            LbStrategy::LeastResponseTime => "least_response_time",
        }
    }
}

impl FromStr for LbStrategy {
    type Err = UnknownLbStrategy;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let wanted = text.trim().to_ascii_lowercase();
        LbStrategy::ALL
            .into_iter()
            .find(|strategy| strategy.as_str() == wanted)
            .ok_or_else(|| UnknownLbStrategy(text.to_owned()))
    }
}

impl fmt::Display for LbStrategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_strategy_round_trips_through_its_name() {
        for strategy in LbStrategy::ALL {
            assert_eq!(strategy.as_str().parse::<LbStrategy>(), Ok(strategy));
        }
    }

    #[test]
    fn an_unknown_name_is_refused_with_the_valid_ones_listed() {
        let error = "fastest".parse::<LbStrategy>().expect_err("unknown");
        assert!(error.to_string().contains("least_response_time"));
    }
}
