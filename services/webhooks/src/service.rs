//! The webhooks service's shared state.

use std::sync::Arc;

use gpuproxy_db::Database;
use gpuproxy_egress::EgressClient;
use tokio::sync::Notify;

use crate::config::{Config, DeliverySettings};

/// The webhooks use cases. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Webhooks {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    database: Database,
    client: EgressClient,
    delivery: DeliverySettings,
    max_per_user: usize,
    /// Wakes the sender when deliveries became due.
    due: Notify,
}

impl Webhooks {
    /// Builds the use cases over `database`.
    pub fn new(config: &Config, database: Database) -> anyhow::Result<Self> {
        Self::with_client(
            config,
            database,
            EgressClient::builder(config.delivery.allowed_hosts.clone())
                .connect_timeout(config.delivery.timeout)
                .build()?,
        )
    }

    /// Builds the use cases with an egress client of the caller's (tests: a static DNS table).
    pub fn with_client(config: &Config, database: Database, client: EgressClient) -> anyhow::Result<Self> {
        Ok(Webhooks {
            inner: Arc::new(Inner {
                database,
                client,
                delivery: config.delivery.clone(),
                max_per_user: config.max_per_user,
                due: Notify::new(),
            }),
        })
    }

    /// The database.
    pub fn database(&self) -> &Database {
        &self.inner.database
    }

    pub(crate) fn client(&self) -> &EgressClient {
        &self.inner.client
    }

    pub(crate) fn delivery(&self) -> &DeliverySettings {
        &self.inner.delivery
    }

    pub(crate) fn max_per_user(&self) -> usize {
        self.inner.max_per_user
    }

    pub(crate) fn wake_sender(&self) {
        self.inner.due.notify_one();
    }

    pub(crate) async fn deliveries_due(&self) {
        self.inner.due.notified().await;
    }
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// A new row id.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}
