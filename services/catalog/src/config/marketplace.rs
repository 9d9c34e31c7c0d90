//! Variables of the GPU marketplaces (`VASTAI_*`, `IONET_*`, `GPU_API_TIMEOUT`), read by the catalog service.

use std::time::Duration;

use gpuproxy_config::{Reader, SecretString};

/// API keys and endpoints of the GPU providers. A provider without a key is off; with no key at all,
/// the embedded server runs the provider simulator instead.
#[derive(Debug, Clone)]
pub struct MarketplaceConfig {
    /// `VASTAI_API_KEY`.
    pub vastai_api_key: Option<SecretString>,
    /// `VASTAI_API_URL` (default the real host).
    pub vastai_api_url: String,
    /// `IONET_API_KEY`.
    pub ionet_api_key: Option<SecretString>,
    /// `IONET_API_URL` (default the real host).
    pub ionet_api_url: String,
    /// `GPU_API_TIMEOUT`: the longest a provider call may take.
    pub request_timeout: Duration,
    /// True when the provider simulator stands in for the providers without a key (set by the
    /// process that started it, never by a variable): provider health says so.
    pub simulated: bool,
}

impl MarketplaceConfig {
    /// Reads the marketplace variables.
    pub fn read(reader: &mut Reader<'_>) -> Self {
        let config = MarketplaceConfig {
            vastai_api_key: reader.secret("VASTAI_API_KEY"),
            vastai_api_url: reader.string("VASTAI_API_URL", "https://console.vast.ai"),
            ionet_api_key: reader.secret("IONET_API_KEY"),
            ionet_api_url: reader.string("IONET_API_URL", "https://api.io.solutions"),
            request_timeout: reader.duration("GPU_API_TIMEOUT", Duration::from_secs(30)),
            simulated: false,
        };
        for (name, url) in [
            ("VASTAI_API_URL", &config.vastai_api_url),
            ("IONET_API_URL", &config.ionet_api_url),
        ] {
            gpuproxy_config::check_http_url(reader, name, url);
        }
        config
    }

    /// Points every provider without a key at a simulator serving both wire protocols at `base_url`,
    /// with the keys it accepts.
    pub fn simulate_missing(&mut self, base_url: &str, vastai_api_key: &str, ionet_api_key: &str) {
        if self.vastai_api_key.is_none() {
            self.vastai_api_key = Some(SecretString::from(vastai_api_key.to_owned()));
            self.vastai_api_url = base_url.to_owned();
        }
        if self.ionet_api_key.is_none() {
            self.ionet_api_key = Some(SecretString::from(ionet_api_key.to_owned()));
            self.ionet_api_url = base_url.to_owned();
        }
        self.simulated = true;
    }

    /// Returns the providers that have a key.
    pub fn configured(&self) -> Vec<&'static str> {
        [
            (self.vastai_api_key.is_some(), "vast.ai"),
            (self.ionet_api_key.is_some(), "io.net"),
        ]
        .into_iter()
        .filter_map(|(on, name)| on.then_some(name))
        .collect()
    }
}
