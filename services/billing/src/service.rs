//! The billing service's shared state.

use std::collections::HashMap;
use std::sync::Arc;

use gpuproxy_config::SecretString;
use gpuproxy_db::Database;
use gpuproxy_events::Outbox;

use crate::config::{Config, CreditSettings};
use crate::error::Error;
use crate::method::ProviderKind;
use crate::processor::{AfterDark, Crypto, HttpCalls, PaymentProcessor, Stripe};

/// The billing use cases. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Billing {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    database: Database,
    outbox: Outbox,
    processors: HashMap<ProviderKind, Arc<dyn PaymentProcessor>>,
    credits: CreditSettings,
    stripe_webhook_secret: Option<SecretString>,
    crypto_ipn_secret: Option<SecretString>,
    crypto_callback_url: Option<String>,
    /// Woken when a renewal is marked due, so it is charged without waiting for the next round.
    renewals: Arc<tokio::sync::Notify>,
}

impl Billing {
    /// Builds the use cases over `database`, with a processor for each one configured.
    pub fn new(config: &Config, database: Database) -> anyhow::Result<Self> {
        let calls = HttpCalls::new(config.calls.timeout, config.calls.max_retries)?;
        let settings = &config.processors;
        let mut processors: HashMap<ProviderKind, Arc<dyn PaymentProcessor>> = HashMap::new();
        if let Some(key) = &settings.stripe_secret_key {
            processors.insert(
                ProviderKind::Stripe,
                Arc::new(Stripe::new(calls.clone(), &settings.stripe_api_url, key.clone())),
            );
        }
        if let (true, Some(key)) = (settings.crypto_enabled, &settings.crypto_api_key) {
            processors.insert(
                ProviderKind::Crypto,
                Arc::new(Crypto::new(calls.clone(), &settings.crypto_api_url, key.clone())),
            );
        }
        if let Some(key) = &settings.afterdark_api_key {
            processors.insert(
                ProviderKind::AfterDark,
                Arc::new(AfterDark::new(calls, &settings.afterdark_api_url, key.clone())),
            );
        }
        Ok(Billing {
            inner: Arc::new(Inner {
                outbox: Outbox::new(database.clone(), "billing"),
                database,
                processors,
                credits: config.credits,
                stripe_webhook_secret: settings.stripe_webhook_secret.clone(),
                crypto_ipn_secret: settings.crypto_ipn_secret.clone(),
                crypto_callback_url: config
                    .webhook_base_url
                    .as_ref()
                    .map(|base| format!("{base}/api/v1/billing/webhooks/crypto")),
                renewals: Arc::new(tokio::sync::Notify::new()),
            }),
        })
    }

    /// The database.
    pub fn database(&self) -> &Database {
        &self.inner.database
    }

    /// The outbox events are written to.
    pub fn outbox(&self) -> &Outbox {
        &self.inner.outbox
    }

    pub(crate) fn credit_settings(&self) -> CreditSettings {
        self.inner.credits
    }

    pub(crate) fn processor(&self, provider: ProviderKind) -> Result<&Arc<dyn PaymentProcessor>, Error> {
        self.inner
            .processors
            .get(&provider)
            .ok_or(Error::NotConfigured(provider.as_str()))
    }

    pub(crate) fn stripe_webhook_secret(&self) -> Option<&SecretString> {
        self.inner.stripe_webhook_secret.as_ref()
    }

    pub(crate) fn crypto_ipn_secret(&self) -> Option<&SecretString> {
        self.inner.crypto_ipn_secret.as_ref()
    }

    pub(crate) fn crypto_callback_url(&self) -> Option<&str> {
        self.inner.crypto_callback_url.as_deref()
    }

    pub(crate) fn wake_renewer(&self) {
        self.inner.renewals.notify_one();
    }

    /// Returns what is notified when a renewal is marked due.
    pub(crate) fn renewal_marks(&self) -> Arc<tokio::sync::Notify> {
        Arc::clone(&self.inner.renewals)
    }
}

/// A new row id.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// Dollars with cents, for messages.
pub fn usd(micros: i64) -> String {
    format!("${}", gpuproxy_domain::UsdMicros::from_micros(micros))
}
