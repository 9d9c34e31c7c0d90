//! The webhooks service's shared state.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, PoisonError};

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
    /// The subscriptions those deliveries belong to.
    due_subscriptions: Mutex<HashSet<String>>,
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
                due_subscriptions: Mutex::default(),
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

    /// Tells the sender that `subscriptions` have deliveries due now.
    pub(crate) fn wake_sender<'a>(&self, subscriptions: impl IntoIterator<Item = &'a str>) {
        let mut due = self
            .inner
            .due_subscriptions
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        due.extend(subscriptions.into_iter().map(str::to_owned));
        drop(due);
        self.inner.due.notify_one();
    }

    /// Takes the subscriptions the sender was told about.
    pub(crate) fn take_due_subscriptions(&self) -> Vec<String> {
        let mut due = self
            .inner
            .due_subscriptions
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        due.drain().collect()
    }

    pub(crate) async fn deliveries_due(&self) {
        self.inner.due.notified().await;
    }
}

/// A new row id.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}
