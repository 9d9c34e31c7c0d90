//! The catalog service's configuration.

mod marketplace;

use std::time::Duration;

use gpuproxy_config::{CATALOG, ConfigErrors, EnvMap, InternalServerConfig, Reader};

pub use marketplace::MarketplaceConfig;

/// Retries of a provider call (`PROVIDER_*`).
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// `PROVIDER_MAX_ATTEMPTS`: tries per call, the first included.
    pub max_attempts: u32,
    /// `PROVIDER_RETRY_BACKOFF`: the first wait; doubled each retry, with jitter.
    pub backoff: Duration,
    /// `PROVIDER_MAX_RETRY_AFTER`: a 429 asking for a longer wait is reported instead of waited out.
    pub max_retry_after: Duration,
}

/// The circuit breaker of each provider (`PROVIDER_BREAKER_*`).
#[derive(Debug, Clone, Copy)]
pub struct BreakerSettings {
    /// `PROVIDER_BREAKER_THRESHOLD`: consecutive failed calls that open it.
    pub failure_threshold: u32,
    /// `PROVIDER_BREAKER_COOLDOWN`: how long it stays open before one probe call is let through.
    pub cooldown: Duration,
}

/// Everything the catalog service reads from the environment.
#[derive(Debug, Clone)]
pub struct Config {
    /// Keys, URLs and `GPU_API_TIMEOUT` (one attempt's limit).
    pub marketplace: MarketplaceConfig,
    /// Where the internal API listens (`INTERNAL_HOST`, `CATALOG_GRPC_PORT`, `INTERNAL_API_TOKEN`).
    pub server: InternalServerConfig,
    /// `CATALOG_CACHE_TTL`: how long offers are fresh; older ones are served while a refresh runs.
    pub cache_ttl: Duration,
    /// `CATALOG_LIST_TIMEOUT`: how long a listing waits for a provider with nothing cached before
    /// answering without it (with a warning).
    pub list_timeout: Duration,
    /// Retries.
    pub retry: RetryPolicy,
    /// Circuit breakers.
    pub breaker: BreakerSettings,
    /// `VASTAI_SEARCH_LIMIT`: offers asked of vast.ai per refresh.
    pub vastai_search_limit: u32,
    /// `IONET_DURATION_HOURS`: hours an io.net deployment is prepaid for at creation.
    pub ionet_duration_hours: u32,
}

impl Config {
    /// Reads the configuration from `env`.
    pub fn from_env_map(env: &EnvMap, developer_mode: bool) -> Result<Self, ConfigErrors> {
        gpuproxy_config::read_all(env, |reader| Self::read(reader, developer_mode))
    }

    /// Reads the configuration, recording problems in `reader`.
    pub fn read(reader: &mut Reader<'_>, developer_mode: bool) -> Self {
        let cache_ttl = reader.duration("CATALOG_CACHE_TTL", Duration::from_secs(30));
        if cache_ttl.is_zero() {
            reader.invalid("CATALOG_CACHE_TTL", None, "must be more than 0s");
        }
        Config {
            marketplace: MarketplaceConfig::read(reader),
            server: InternalServerConfig::read(reader, &CATALOG, developer_mode),
            cache_ttl,
            list_timeout: reader.duration("CATALOG_LIST_TIMEOUT", Duration::from_secs(5)),
            retry: RetryPolicy {
                max_attempts: reader.number("PROVIDER_MAX_ATTEMPTS", 3u32, 1..=10),
                backoff: reader.duration("PROVIDER_RETRY_BACKOFF", Duration::from_millis(200)),
                max_retry_after: reader.duration("PROVIDER_MAX_RETRY_AFTER", Duration::from_secs(10)),
            },
            breaker: BreakerSettings {
                failure_threshold: reader.number("PROVIDER_BREAKER_THRESHOLD", 5u32, 1..=1000),
                cooldown: reader.duration("PROVIDER_BREAKER_COOLDOWN", Duration::from_secs(30)),
            },
            vastai_search_limit: reader.number("VASTAI_SEARCH_LIMIT", 10_000u32, 1..=100_000),
            ionet_duration_hours: reader.number("IONET_DURATION_HOURS", 1u32, 1..=720),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_point_at_the_real_providers_with_no_keys() {
        let config = Config::from_env_map(&EnvMap::default(), false).expect("valid");
        assert!(config.marketplace.vastai_api_key.is_none());
        assert_eq!(config.marketplace.vastai_api_url, "https://console.vast.ai");
        assert_eq!(config.marketplace.ionet_api_url, "https://api.io.solutions");
        assert_eq!(config.server.listen.map(|addr| addr.port()), Some(9402));
    }

    #[test]
    fn bad_values_are_reported_by_name() {
        let env = EnvMap::from_pairs([
            ("PROVIDER_MAX_ATTEMPTS", "0"),
            ("CATALOG_CACHE_TTL", "0s"),
            ("VASTAI_API_URL", "ftp://x"),
        ]);
        let errors = Config::from_env_map(&env, false).expect_err("three problems");
        for name in ["PROVIDER_MAX_ATTEMPTS", "CATALOG_CACHE_TTL", "VASTAI_API_URL"] {
            assert!(errors.names(name), "{name} not reported in {errors}");
        }
    }
}
