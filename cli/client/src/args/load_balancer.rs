//! `lb-strategy` and `load`: the load balancer that picks an instance for proxied requests.

use clap::ValueEnum;
use reqwest::Method;
use serde_json::{Value, json};

/// The REST path of the load-balancing strategy.
pub const STRATEGY_PATH: &str = "/api/v1/loadbalancer/strategy";

/// How the load balancer picks an instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
#[value(rename_all = "snake_case")]
pub enum Strategy {
    /// Each instance in turn.
    RoundRobin,
    /// Each instance equally often, whatever its weight.
    EqualWeighted,
    /// Each instance in turn, as often as its weight says.
    WeightedRoundRobin,
    /// The instance with the fewest open connections.
    LeastConnections,
    /// The instance that has answered fastest.
    LeastResponseTime,
}

impl Strategy {
    /// Returns the strategy's name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Strategy::RoundRobin => "round_robin",
            Strategy::EqualWeighted => "equal_weighted",
            Strategy::WeightedRoundRobin => "weighted_round_robin",
            Strategy::LeastConnections => "least_connections",
            Strategy::LeastResponseTime => "least_response_time",
        }
    }
}

/// Shows the strategy, or sets it: `lb-strategy least_connections`.
#[derive(Debug, Clone, clap::Args)]
pub struct StrategyArgs {
    /// The strategy to switch to; without one, the current strategy is shown.
    #[arg(value_enum)]
    pub strategy: Option<Strategy>,
}

impl StrategyArgs {
    /// Returns the method and body of the call: a GET to show, a PUT with the strategy to set.
    pub fn request(&self) -> (Method, Option<Value>) {
        match self.strategy {
            None => (Method::GET, None),
            Some(strategy) => (Method::PUT, Some(json!({"strategy": strategy.as_str()}))),
        }
    }
}

/// Which loads `load` shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LoadKind {
    /// Per instance.
    Server,
    /// Per provider.
    Provider,
    /// Both.
    All,
}

impl LoadKind {
    /// Returns the kind's name in the `type` query parameter.
    pub fn as_str(self) -> &'static str {
        match self {
            LoadKind::Server => "server",
            LoadKind::Provider => "provider",
            LoadKind::All => "all",
        }
    }
}

/// Shows the load per instance and per provider: `load server`.
#[derive(Debug, Clone, clap::Args)]
pub struct LoadArgs {
    /// `server`, `provider` or `all`.
    #[arg(value_enum, default_value_t = LoadKind::All)]
    pub kind: LoadKind,
}

impl LoadArgs {
    /// Returns the REST path with the kind as the `type` parameter.
    pub fn path(&self) -> String {
        format!("/api/v1/loadbalancer/loads?type={}", self.kind.as_str())
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;
    use reqwest::Method;
    use serde_json::json;

    use crate::{Args, Command};

    fn parse(args: &[&str]) -> Result<Command, clap::Error> {
        Args::try_parse_from([&["aiserve-gpuproxy-client"], args].concat()).map(|args| args.command)
    }

    #[test]
    fn lb_strategy_without_an_argument_shows_and_with_one_sets() {
        let Ok(Command::LbStrategy(show)) = parse(&["lb-strategy"]) else {
            panic!("an lb-strategy command");
        };
        assert_eq!(show.request(), (Method::GET, None));
        let Ok(Command::LbStrategy(set)) = parse(&["lb-strategy", "least_connections"]) else {
            panic!("an lb-strategy command");
        };
        assert_eq!(
            set.request(),
            (Method::PUT, Some(json!({"strategy": "least_connections"})))
        );
    }

    #[test]
    fn lb_strategy_accepts_every_documented_strategy_and_refuses_others() {
        for name in [
            "round_robin",
            "equal_weighted",
            "weighted_round_robin",
            "least_connections",
            "least_response_time",
        ] {
            let Ok(Command::LbStrategy(set)) = parse(&["lb-strategy", name]) else {
                panic!("{name} parses");
            };
            assert_eq!(set.request().1, Some(json!({"strategy": name})));
        }
        assert!(parse(&["lb-strategy", "random"]).is_err());
    }

    #[test]
    fn load_asks_for_the_kind_given_and_all_by_default() {
        for (args, path) in [
            (&["load"][..], "/api/v1/loadbalancer/loads?type=all"),
            (&["load", "server"][..], "/api/v1/loadbalancer/loads?type=server"),
            (
                &["load", "provider"][..],
                "/api/v1/loadbalancer/loads?type=provider",
            ),
        ] {
            let Ok(Command::Load(load)) = parse(args) else {
                panic!("a load command");
            };
            assert_eq!(load.path(), path);
        }
    }
}
