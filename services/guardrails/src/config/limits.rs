//! Guard-rail variables (`GUARDRAILS_ENABLED`, `GUARDRAILS_MAX_<W>_RATE`), read by the guardrails service.

use gpuproxy_config::Reader;
use gpuproxy_domain::{SpendWindow, UsdMicros};

/// The default spending limit of each of the 17 windows; 0 = no limit in that window.
#[derive(Debug, Clone)]
pub struct GuardrailsConfig {
    /// `GUARDRAILS_ENABLED`.
    pub enabled: bool,
    /// One limit per window, shortest window first.
    pub limits: Vec<(SpendWindow, UsdMicros)>,
}

impl GuardrailsConfig {
    /// Reads the guard-rail variables; limits are decimal dollars such as `100.00`.
    pub fn read(reader: &mut Reader<'_>) -> Self {
        let enabled = reader.bool("GUARDRAILS_ENABLED", false);
        let limits = SpendWindow::ALL
            .into_iter()
            .map(|window| {
                let name = window.limit_variable();
                let limit = reader.parse(&name, UsdMicros::ZERO);
                if limit < UsdMicros::ZERO {
                    reader.invalid(
                        &name,
                        Some(&limit.to_string()),
                        "a limit cannot be negative (0 = no limit)",
                    );
                }
                (window, limit.max(UsdMicros::ZERO))
            })
            .collect();
        GuardrailsConfig { enabled, limits }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gpuproxy_config::EnvMap;

    #[test]
    fn the_seed_example_limits_are_read_exactly() {
        let env = EnvMap::from_pairs([
            ("GUARDRAILS_ENABLED", "true"),
            ("GUARDRAILS_MAX_60MIN_RATE", "100.00"),
            ("GUARDRAILS_MAX_1440MIN_RATE", "1000.00"),
            ("GUARDRAILS_MAX_72H_RATE", "2500.00"),
        ]);
        let mut reader = Reader::new(&env);
        let config = GuardrailsConfig::read(&mut reader);
        let config = reader.finish(config).expect("valid");
        assert!(config.enabled);
        let limit = |label: &str| {
            config
                .limits
                .iter()
                .find(|(window, _)| window.label() == label)
                .map(|(_, limit)| *limit)
        };
        assert_eq!(limit("60min"), Some(UsdMicros::from_micros(100_000_000)));
        assert_eq!(limit("1440min"), Some(UsdMicros::from_micros(1_000_000_000)));
        assert_eq!(limit("72h"), Some(UsdMicros::from_micros(2_500_000_000)));
        assert_eq!(limit("5min"), Some(UsdMicros::ZERO));
    }

    #[test]
    fn negative_and_non_decimal_limits_are_refused() {
        let env = EnvMap::from_pairs([
            ("GUARDRAILS_MAX_5MIN_RATE", "-1"),
            ("GUARDRAILS_MAX_48H_RATE", "lots"),
        ]);
        let mut reader = Reader::new(&env);
        let config = GuardrailsConfig::read(&mut reader);
        let errors = reader.finish(config).expect_err("two bad limits");
        assert!(errors.names("GUARDRAILS_MAX_5MIN_RATE"));
        assert!(errors.names("GUARDRAILS_MAX_48H_RATE"));
    }
}
