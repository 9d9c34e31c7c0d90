//! The service's shared state and the plumbing every use case needs: transactions with events,
//! calls to the catalog, the set of rents in flight.

use gpuproxy_domain::UserId;
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use gpuproxy_db::{Any, Database, Transaction};
use gpuproxy_events::{Event, Outbox};
use gpuproxy_proto::gpuproxy::catalog::v1::catalog_service_client::CatalogServiceClient;
use gpuproxy_server::GrpcChannel;
use tokio_util::task::TaskTracker;

use crate::balancer::Balancer;
use crate::config::{Config, Periods};
use crate::domain::Labels;
use crate::error::Error;

/// The reservation service's use cases. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Reservations {
    pub(crate) inner: Arc<Inner>,
}

#[derive(Debug)]
pub(crate) struct Inner {
    pub database: Database,
    pub outbox: Outbox,
    pub catalog: CatalogServiceClient<GrpcChannel>,
    pub catalog_call_timeout: Duration,
    pub balancer: Balancer,
    pub reserve_concurrency: usize,
    pub attempts_per_slot: usize,
    pub periods: Periods,
    /// Rows whose rent is running in this process: the reconciler leaves them alone.
    pub in_flight: Mutex<HashSet<String>>,
    /// Runs reservations and rents to their end even when the caller gives up on them.
    pub tracker: TaskTracker,
    pub probe_client: reqwest::Client,
    /// This installation's provider-side labels.
    pub labels: Labels,
    /// Credits and guard rails, when the service is wired to them.
    pub spending: Option<gpuproxy_spending::Spending>,
    /// `CREDITS_STOP_INSTANCES_AT_CAP`: destroy a user's instances once their balance reaches the cap.
    pub stop_at_cap: bool,
}

impl Reservations {
    /// Returns the use cases over `database`, renting through `catalog`.
    pub fn new(
        config: &Config,
        database: Database,
        catalog: GrpcChannel,
        balancer: Balancer,
        tracker: TaskTracker,
        labels: Labels,
        spending: Option<gpuproxy_spending::Spending>,
    ) -> Self {
        let probe_client = reqwest::Client::builder()
            .timeout(Duration::from_secs(2))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_default();
        Reservations {
            inner: Arc::new(Inner {
                outbox: Outbox::new(database.clone(), "reservation"),
                database,
                catalog: CatalogServiceClient::new(catalog),
                catalog_call_timeout: config.catalog_call_timeout,
                balancer,
                reserve_concurrency: config.reserve_concurrency,
                attempts_per_slot: config.attempts_per_slot,
                periods: config.periods,
                in_flight: Mutex::new(HashSet::new()),
                tracker,
                probe_client,
                labels,
                spending,
                stop_at_cap: config.stop_at_cap,
            }),
        }
    }

    /// Refuses spending `estimate` (an hour of what is about to be rented) that the user's credits or
    /// guard rails cannot cover, holding it under `hold_id` when they can; a no-op when not wired to
    /// them or not enforced.
    pub(crate) async fn admit(&self, user_id: UserId, hold_id: &str, estimate: i64) -> Result<(), Error> {
        match &self.inner.spending {
            Some(spending) => Ok(spending.admit(user_id, hold_id, estimate).await?),
            None => Ok(()),
        }
    }

    /// Gives back `amount` (0 = all) of an admission whose spending did not happen (rents that
    /// failed, an instance that ended within its hour), to the credits and the guard rails.
    pub(crate) async fn give_back(&self, user_id: UserId, hold_id: &str, amount: i64) {
        if let Some(spending) = &self.inner.spending {
            spending.give_back(user_id, hold_id, amount).await;
        }
    }

    /// Returns the database, for health checks.
    pub fn database(&self) -> &Database {
        &self.inner.database
    }

    /// Returns the outbox, whose relay the app runs.
    pub fn outbox(&self) -> &Outbox {
        &self.inner.outbox
    }

    /// Returns what every provider-side label of this installation starts with.
    pub fn label_prefix(&self) -> &str {
        self.inner.labels.prefix()
    }

    /// Returns the load balancer.
    pub fn balancer(&self) -> &Balancer {
        &self.inner.balancer
    }

    /// Returns a catalog client.
    pub(crate) fn catalog(&self) -> CatalogServiceClient<GrpcChannel> {
        self.inner.catalog.clone()
    }

    /// Runs one catalog call within `SERVICE_CALL_TIMEOUT`; a timeout is `TIMEOUT`.
    pub(crate) async fn call<T>(
        &self,
        call: impl Future<Output = Result<tonic::Response<T>, tonic::Status>>,
    ) -> Result<T, Error> {
        match tokio::time::timeout(self.inner.catalog_call_timeout, call).await {
            Ok(Ok(response)) => Ok(response.into_inner()),
            Ok(Err(status)) => Err(Error::from(status)),
            Err(_) => Err(Error::Catalog {
                code: gpuproxy_errors::ErrorCode::Timeout,
                message: format!(
                    "the catalog did not answer within {}s",
                    self.inner.catalog_call_timeout.as_secs_f64()
                ),
                nothing_done: false,
            }),
        }
    }

    /// Starts a transaction.
    pub(crate) async fn begin(&self) -> Result<Transaction<'static, Any>, Error> {
        Ok(self.inner.database.pool().begin().await?)
    }

    /// Writes `events` into the outbox inside `transaction`, commits, and wakes the relay.
    pub(crate) async fn commit_with_events(
        &self,
        transaction: Transaction<'static, Any>,
        events: &[Event],
    ) -> Result<(), Error> {
        Ok(self.inner.outbox.commit(transaction, events).await?)
    }

    /// Marks row `row_id` as being rented by this process until the guard drops.
    pub(crate) fn in_flight(&self, row_id: &str) -> InFlight {
        self.lock_in_flight().insert(row_id.to_owned());
        InFlight {
            service: self.clone(),
            row_id: row_id.to_owned(),
        }
    }

    /// Returns whether this process is renting row `row_id` right now.
    pub(crate) fn is_in_flight(&self, row_id: &str) -> bool {
        self.lock_in_flight().contains(row_id)
    }

    /// Returns the rows being rented by this process right now.
    pub(crate) fn in_flight_snapshot(&self) -> HashSet<String> {
        self.lock_in_flight().clone()
    }

    fn lock_in_flight(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        self.inner
            .in_flight
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// A rent in flight; dropping it (the rent ended, or its task was cancelled) hands the row to the
/// reconciler.
#[derive(Debug)]
pub(crate) struct InFlight {
    service: Reservations,
    row_id: String,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.service.lock_in_flight().remove(&self.row_id);
    }
}

/// Builds an event, turning an encoding failure (a bug) into an internal error.
pub(crate) fn event(name: &str, data: &impl serde::Serialize) -> Result<Event, Error> {
    Event::new(name, data).map_err(|error| Error::Internal(anyhow::anyhow!("encoding event {name}: {error}")))
}

/// The credit hold an instance's admission was made under: its reservation's, or its own.
pub(crate) fn hold_of(reservation_id: Option<&str>, row_id: &str) -> String {
    match reservation_id {
        Some(reservation_id) => format!("reservation:{reservation_id}"),
        None => format!("instance:{row_id}"),
    }
}
