//! Variables of the GPU marketplaces (`VASTAI_*`, `IONET_*`, `GPU_API_TIMEOUT`), read by the catalog service.

use std::time::Duration;

use secrecy::SecretString;

use crate::Reader;

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
        };
        for (name, url) in [
            ("VASTAI_API_URL", &config.vastai_api_url),
            ("IONET_API_URL", &config.ionet_api_url),
        ] {
            crate::url::check_http_url(reader, name, url);
        }
        config
    }
}
