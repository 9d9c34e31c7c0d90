//! The billing service's configuration.

mod processors;

use std::time::Duration;

use gpuproxy_config::{BILLING, ConfigErrors, DatabaseConfig, EnvMap, InternalServerConfig, Reader};
use gpuproxy_domain::UsdMicros;

pub use processors::BillingConfig;

/// How credits behave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CreditSettings {
    /// `CREDITS_LOW_THRESHOLD` (USD): a debit that takes a balance below it publishes `credits.low`.
    pub low_threshold: UsdMicros,
    /// `CREDITS_DEFAULT_CAP` (USD): the overage cap of a user an admin has not given one.
    pub default_cap: UsdMicros,
}

/// How payment processors are called.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcessorCalls {
    /// `PAYMENT_TIMEOUT`: the longest one call to a processor may take.
    pub timeout: Duration,
    /// `PAYMENT_MAX_RETRIES`: retries of a call that failed on the way (connection, 409, 429, 5xx),
    /// always with the same idempotency key.
    pub max_retries: u32,
}

/// Everything the billing service reads from the environment.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where the ledger, payments and usage are kept.
    pub database: DatabaseConfig,
    /// `OUTBOX_POLL_INTERVAL`.
    pub outbox_poll_interval: Duration,
    /// `CREDITS_AUTO_RENEW_INTERVAL`: how often due renewals are looked for besides when a debit
    /// marks one (another replica's, or one whose processor was unreachable).
    pub auto_renew_interval: Duration,
    /// The processors' credentials and endpoints (`STRIPE_*`, `CRYPTO_*`, `AFTERDARK_*`).
    pub processors: BillingConfig,
    /// `BILLING_WEBHOOK_BASE_URL`: the gateway's public URL, which the crypto processor's
    /// callbacks are sent to (`<base>/api/v1/billing/webhooks/crypto`); without it, crypto payments
    /// settle only when looked up.
    pub webhook_base_url: Option<String>,
    /// Processor call limits.
    pub calls: ProcessorCalls,
    /// Credit rules.
    pub credits: CreditSettings,
    /// Where the internal API listens (`INTERNAL_HOST`, `BILLING_GRPC_PORT`, `INTERNAL_API_TOKEN`).
    pub server: InternalServerConfig,
}

impl Config {
    /// Reads the configuration from `env`.
    pub fn from_env_map(env: &EnvMap, developer_mode: bool) -> Result<Self, ConfigErrors> {
        gpuproxy_config::read_all(env, |reader| Self::read(reader, developer_mode))
    }

    /// Reads the configuration, recording problems in `reader`.
    pub fn read(reader: &mut Reader<'_>, developer_mode: bool) -> Self {
        Config {
            database: DatabaseConfig::read(reader),
            outbox_poll_interval: reader.duration("OUTBOX_POLL_INTERVAL", Duration::from_millis(500)),
            auto_renew_interval: reader.duration("CREDITS_AUTO_RENEW_INTERVAL", Duration::from_secs(30)),
            processors: BillingConfig::read(reader),
            webhook_base_url: reader
                .optional_string("BILLING_WEBHOOK_BASE_URL")
                .map(|url| url.trim_end_matches('/').to_owned()),
            calls: ProcessorCalls {
                timeout: reader.duration("PAYMENT_TIMEOUT", Duration::from_secs(10)),
                max_retries: reader.number("PAYMENT_MAX_RETRIES", 3u32, 0..=10),
            },
            credits: CreditSettings {
                low_threshold: dollars(reader, "CREDITS_LOW_THRESHOLD", UsdMicros::from_micros(5_000_000)),
                default_cap: dollars(reader, "CREDITS_DEFAULT_CAP", UsdMicros::ZERO),
            },
            server: InternalServerConfig::read(reader, &BILLING, developer_mode),
        }
    }
}

/// Reads a non-negative amount of dollars.
fn dollars(reader: &mut Reader<'_>, name: &str, default: UsdMicros) -> UsdMicros {
    let Some(text) = reader.raw(name) else {
        return default;
    };
    match UsdMicros::parse_dollars(text) {
        Ok(amount) if amount.micros() >= 0 => amount,
        Ok(_) => {
            reader.invalid(name, Some(text), "must not be negative");
            default
        }
        Err(error) => {
            reader.invalid(name, Some(text), error.to_string());
            default
        }
    }
}
