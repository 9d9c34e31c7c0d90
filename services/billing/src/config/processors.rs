//! Variables of the payment processors (`STRIPE_*`, `AFTERDARK_*`, `CRYPTO_*`), read by the billing service.

use gpuproxy_config::{Reader, SecretString};

/// Credentials and endpoints of the payment processors.
#[derive(Debug, Clone)]
pub struct BillingConfig {
    /// `STRIPE_SECRET_KEY`; Stripe payments are off without it.
    pub stripe_secret_key: Option<SecretString>,
    /// `STRIPE_WEBHOOK_SECRET`: verifies `Stripe-Signature` on webhook calls.
    pub stripe_webhook_secret: Option<SecretString>,
    /// `STRIPE_API_URL` (default the real host).
    pub stripe_api_url: String,
    /// `AFTERDARK_API_URL`.
    pub afterdark_api_url: String,
    /// `AFTERDARK_API_KEY`; AfterDark billing is off without it.
    pub afterdark_api_key: Option<SecretString>,
    /// `CRYPTO_ENABLED`.
    pub crypto_enabled: bool,
    /// `CRYPTO_API_URL`: the crypto payment processor.
    pub crypto_api_url: String,
    /// `CRYPTO_API_KEY`.
    pub crypto_api_key: Option<SecretString>,
    /// `CRYPTO_IPN_SECRET`: verifies the processor's signed webhook calls.
    pub crypto_ipn_secret: Option<SecretString>,
}

impl BillingConfig {
    /// Reads the billing variables.
    pub fn read(reader: &mut Reader<'_>) -> Self {
        let config = BillingConfig {
            stripe_secret_key: reader.secret("STRIPE_SECRET_KEY"),
            stripe_webhook_secret: reader.secret("STRIPE_WEBHOOK_SECRET"),
            stripe_api_url: reader.string("STRIPE_API_URL", "https://api.stripe.com"),
            afterdark_api_url: reader.string("AFTERDARK_API_URL", "https://billing.afterdarksys.com"),
            afterdark_api_key: reader.secret("AFTERDARK_API_KEY"),
            crypto_enabled: reader.bool("CRYPTO_ENABLED", false),
            crypto_api_url: reader.string("CRYPTO_API_URL", "https://api.nowpayments.io/v1"),
            crypto_api_key: reader.secret("CRYPTO_API_KEY"),
            crypto_ipn_secret: reader.secret("CRYPTO_IPN_SECRET"),
        };
        for (name, url) in [
            ("STRIPE_API_URL", &config.stripe_api_url),
            ("AFTERDARK_API_URL", &config.afterdark_api_url),
            ("CRYPTO_API_URL", &config.crypto_api_url),
        ] {
            gpuproxy_config::check_http_url(reader, name, url);
        }
        config
    }
}
