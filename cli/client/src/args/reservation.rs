//! `reserve`: several instances in one call.

use std::{fmt, time::Duration};

use serde_json::{Value, json};

use crate::args::{instance::InstanceConfigArgs, offer_filters::OfferFilterArgs, present_fields};

/// The most instances one reservation may hold; the server refuses more.
pub const MAX_RESERVED_INSTANCES: u32 = 16;

/// Reserves the cheapest matching offers: `reserve 16`.
#[derive(Debug, Clone, clap::Args)]
pub struct ReserveArgs {
    /// How many instances to reserve, 1 to 16.
    #[arg(value_parser = parse_instance_count)]
    pub count: u32,
    /// `vast.ai` or `io.net`; any provider when absent.
    #[arg(long)]
    pub provider: Option<String>,
    /// Which offers qualify.
    #[command(flatten)]
    pub filters: OfferFilterArgs,
    /// What every reserved instance runs.
    #[command(flatten)]
    pub config: InstanceConfigArgs,
    /// Print the reservation at once instead of waiting until the instances run.
    #[arg(long)]
    pub no_wait: bool,
    /// How long to wait for the instances to run, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 600)]
    pub wait_timeout: u64,
}

impl ReserveArgs {
    /// Returns the REST path of reservations.
    pub fn path(&self) -> &'static str {
        "/api/v1/gpu/instances/reserve"
    }

    /// Returns the JSON body: the count, the filters given and the instance configuration.
    pub fn body(&self) -> Value {
        let mut filters = vec![("provider", self.provider.clone().map(Value::from))];
        filters.extend(self.filters.json_fields());
        json!({
            "count": self.count,
            "filters": present_fields(filters),
            "config": self.config.body(),
        })
    }

    /// Returns how long to wait for the reserved instances to run.
    pub fn wait_timeout(&self) -> Duration {
        Duration::from_secs(self.wait_timeout)
    }
}

/// Why a `reserve` count was refused.
#[derive(Debug)]
pub struct CountOutOfRange;

impl fmt::Display for CountOutOfRange {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            formatter,
            "a reservation holds from 1 to {MAX_RESERVED_INSTANCES} instances"
        )
    }
}

impl std::error::Error for CountOutOfRange {}

fn parse_instance_count(count: &str) -> Result<u32, CountOutOfRange> {
    count
        .parse()
        .ok()
        .filter(|count| (1..=MAX_RESERVED_INSTANCES).contains(count))
        .ok_or(CountOutOfRange)
}

#[cfg(test)]
mod tests {
    use clap::Parser;
    use serde_json::json;

    use crate::{Args, Command};

    fn parse(args: &[&str]) -> Result<Command, clap::Error> {
        Args::try_parse_from([&["aiserve-gpuproxy-client"], args].concat()).map(|args| args.command)
    }

    #[test]
    fn reserve_sends_the_count_the_default_config_and_no_filters() {
        let Ok(Command::Reserve(reserve)) = parse(&["reserve", "16"]) else {
            panic!("a reserve command");
        };
        assert_eq!(reserve.path(), "/api/v1/gpu/instances/reserve");
        assert_eq!(
            reserve.body(),
            json!({
                "count": 16,
                "filters": {},
                "config": {},
            })
        );
        assert!(!reserve.no_wait);
        assert_eq!(reserve.wait_timeout().as_secs(), 600);
    }

    #[test]
    fn reserve_sends_every_filter_and_config_option_given() {
        let Ok(Command::Reserve(reserve)) = parse(&[
            "reserve",
            "4",
            "--provider",
            "vast.ai",
            "--min-vram",
            "24",
            "--max-price",
            "2.5",
            "--gpu-model",
            "4090",
            "--location",
            "US",
            "--num-gpus",
            "1",
            "--image",
            "vllm/vllm-openai",
            "--autostop-minutes",
            "30",
            "--no-wait",
            "--wait-timeout",
            "60",
        ]) else {
            panic!("a reserve command");
        };
        assert_eq!(
            reserve.body(),
            json!({
                "count": 4,
                "filters": {
                    "provider": "vast.ai",
                    "min_vram": 24.0,
                    "max_price": 2.5,
                    "gpu_model": "4090",
                    "location": "US",
                    "num_gpus": 1,
                },
                "config": {"image": "vllm/vllm-openai", "autostop_minutes": 30},
            })
        );
        assert!(reserve.no_wait);
        assert_eq!(reserve.wait_timeout().as_secs(), 60);
    }

    #[test]
    fn reserve_refuses_counts_outside_one_to_sixteen() {
        for count in ["0", "17", "many"] {
            let error = parse(&["reserve", count]).expect_err("out of range");
            assert!(
                error.to_string().contains("from 1 to 16 instances"),
                "{count}: {error}"
            );
        }
    }
}
