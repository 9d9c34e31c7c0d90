//! Sending due deliveries: signed POSTs with a time limit, at most `WEBHOOK_CONCURRENCY` at once
//! and `WEBHOOK_PER_RECEIVER_CONCURRENCY` per subscription, so that a slow or dead receiver holds
//! a few slots and never the queue. Failures are retried with exponential backoff and jitter until
//! `WEBHOOK_MAX_ATTEMPTS`, then dead-lettered; a receiver that answers 404 or 410 (or refuses the
//! payload with another 4xx) is dead-lettered at once.

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use gpuproxy_domain::now_ms;
use reqwest::{Method, Request, StatusCode, Url, header};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::config::DeliverySettings;
use crate::repo::deliveries::{self, DeliveryRow, Finished};
use crate::repo::subscriptions;
use crate::service::Webhooks;
use crate::signature;

/// How an attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Outcome {
    Delivered(u16),
    /// Worth another try.
    Failed {
        status: u16,
        error: String,
        retry_after: Option<Duration>,
    },
    /// Never worth another try.
    Refused {
        status: u16,
        error: String,
    },
}

/// The attempts in flight, in all and per subscription.
struct Slots {
    in_flight: JoinSet<String>,
    per_receiver: HashMap<String, usize>,
    /// Subscriptions with due deliveries that found every slot taken; served as slots free up.
    waiting: VecDeque<String>,
}

impl Webhooks {
    /// Sends due deliveries until `shutdown`, then lets the attempts in flight finish.
    ///
    /// New deliveries arrive with their subscription's id (from the fan-out), so the common path
    /// asks the database only for that subscription's due rows; every `WEBHOOK_POLL_INTERVAL` a
    /// scan finds the retries that came due and anything left behind.
    pub async fn send_deliveries(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let settings = self.delivery().clone();
        let mut slots = Slots {
            in_flight: JoinSet::new(),
            per_receiver: HashMap::new(),
            waiting: VecDeque::new(),
        };
        let mut ticks = tokio::time::interval(settings.poll_interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last_cleanup = tokio::time::Instant::now();
        loop {
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = self.deliveries_due() => {
                    for subscription in self.take_due_subscriptions() {
                        self.start_for(&settings, &mut slots, &subscription).await;
                    }
                }
                Some(done) = slots.in_flight.join_next(), if !slots.in_flight.is_empty() => {
                    if let Ok(subscription) = done {
                        release(&mut slots.per_receiver, &subscription);
                        self.start_for(&settings, &mut slots, &subscription).await;
                    }
                    while slots.in_flight.len() < settings.concurrency {
                        let Some(subscription) = slots.waiting.pop_front() else { break };
                        self.start_for(&settings, &mut slots, &subscription).await;
                    }
                }
                _ = ticks.tick() => {
                    match deliveries::due_subscriptions(self.database().pool(), now_ms()).await {
                        Ok(subscriptions) => {
                            for subscription in subscriptions {
                                self.start_for(&settings, &mut slots, &subscription).await;
                            }
                        }
                        Err(error) => tracing::warn!(%error, "looking for due webhook deliveries failed"),
                    }
                    if last_cleanup.elapsed() > settings.poll_interval * 600 {
                        last_cleanup = tokio::time::Instant::now();
                        self.forget_old(&settings).await;
                    }
                }
            }
        }
        let drain = async { while slots.in_flight.join_next().await.is_some() {} };
        if tokio::time::timeout(settings.timeout + Duration::from_secs(1), drain)
            .await
            .is_err()
        {
            tracing::warn!("webhook attempts still running at shutdown are retried after their lease");
        }
        Ok(())
    }

    /// Claims and starts the subscription's due deliveries, as many as its share of slots and the
    /// free slots allow; a subscription that finds every slot taken waits for one.
    async fn start_for(&self, settings: &DeliverySettings, slots: &mut Slots, subscription: &str) {
        let running = slots.per_receiver.get(subscription).copied().unwrap_or(0);
        let free = settings.concurrency.saturating_sub(slots.in_flight.len());
        let wanted = settings.per_receiver_concurrency.saturating_sub(running);
        if wanted == 0 {
            // Its own attempts are running; each one's end serves it again.
            return;
        }
        if free == 0 {
            if !slots.waiting.iter().any(|waiting| waiting == subscription) {
                slots.waiting.push_back(subscription.to_owned());
            }
            return;
        }
        let limit = i64::try_from(wanted.min(free)).unwrap_or(i64::MAX);
        let now = now_ms();
        let due = match deliveries::due_for(self.database().pool(), subscription, now, limit).await {
            Ok(due) => due,
            Err(error) => {
                tracing::warn!(%error, "looking for due webhook deliveries failed");
                return;
            }
        };
        let lease =
            i64::try_from((settings.timeout + Duration::from_secs(5)).as_millis()).unwrap_or(i64::MAX);
        let ids: Vec<&str> = due.iter().map(|row| row.id.as_str()).collect();
        let claimed = match self.claim(&ids, now, now.saturating_add(lease)).await {
            Ok(claimed) => claimed,
            Err(error) => {
                tracing::warn!(%error, "claiming webhook deliveries failed");
                return;
            }
        };
        for row in due {
            if !claimed.contains(&row.id) {
                continue;
            }
            *slots.per_receiver.entry(row.subscription_id.clone()).or_default() += 1;
            let webhooks = self.clone();
            slots.in_flight.spawn(async move {
                let subscription = row.subscription_id.clone();
                webhooks.attempt(row).await;
                subscription
            });
        }
    }

    /// Makes one attempt and records its end.
    async fn attempt(&self, row: DeliveryRow) {
        let settings = self.delivery();
        let target = match subscriptions::secret_and_url(self.database().pool(), &row.subscription_id).await {
            Ok(Some(target)) => target,
            // Deleted meanwhile: its deliveries went with it.
            Ok(None) => return,
            Err(error) => {
                tracing::warn!(%error, "reading a webhook's secret failed; the delivery is retried after its lease");
                return;
            }
        };
        let (secret, url) = target;
        let outcome = self.post(&row, &url, &secret, settings.timeout).await;
        let attempts = row.attempts + 1;
        let now = now_ms();
        let (status, last_status, error, next_attempt_at, delivered_at) = match &outcome {
            Outcome::Delivered(code) => ("delivered", *code, String::new(), now, Some(now)),
            Outcome::Refused { status, error } => ("dead", *status, error.clone(), now, None),
            Outcome::Failed { status, error, .. } if attempts >= i64::from(settings.max_attempts) => (
                "dead",
                *status,
                format!("gave up after {attempts} attempts; the last: {error}"),
                now,
                None,
            ),
            Outcome::Failed {
                status,
                error,
                retry_after,
            } => {
                let wait = backoff(settings, attempts).max(retry_after.unwrap_or_default());
                let wait = i64::try_from(wait.as_millis()).unwrap_or(i64::MAX);
                ("pending", *status, error.clone(), now.saturating_add(wait), None)
            }
        };
        tracing::debug!(delivery = %row.id, event = %row.event, attempts, status, "webhook attempt");
        if status == "dead" {
            tracing::warn!(delivery = %row.id, subscription = %row.subscription_id, event = %row.event, %error, "webhook delivery dead-lettered");
        }
        let finished = Finished {
            status,
            attempts,
            last_status: i64::from(last_status),
            last_error: &error,
            next_attempt_at,
            delivered_at,
        };
        if let Err(error) = self.finish(&row.id, &finished).await {
            tracing::warn!(delivery = %row.id, %error, "recording a webhook attempt failed; it is retried after its lease");
        }
    }

    async fn post(&self, row: &DeliveryRow, url: &str, secret: &str, timeout: Duration) -> Outcome {
        let failed = |error: String| Outcome::Failed {
            status: 0,
            error,
            retry_after: None,
        };
        let Ok(url) = Url::parse(url) else {
            return Outcome::Refused {
                status: 0,
                error: "the webhook's URL no longer parses".to_owned(),
            };
        };
        let body = signature::signed_body(&row.payload, secret);
        let sent_at = chrono::Utc::now().timestamp();
        let mut request = Request::new(Method::POST, url);
        *request.timeout_mut() = Some(timeout);
        let headers = request.headers_mut();
        let mut add = |name: &'static str, value: &str| {
            if let Ok(value) = header::HeaderValue::from_str(value) {
                headers.insert(name, value);
            }
        };
        add("content-type", "application/json");
        add(
            "user-agent",
            concat!("gpuproxy-webhooks/", env!("CARGO_PKG_VERSION")),
        );
        add("x-gpuproxy-event", &row.event);
        add("x-gpuproxy-event-id", &row.event_id);
        add("x-gpuproxy-delivery", &row.id);
        add("x-gpuproxy-timestamp", &sent_at.to_string());
        add(
            signature::SIGNATURE_HEADER,
            &signature::header_value(&body, secret, sent_at),
        );
        *request.body_mut() = Some(body.into());
        let response = match tokio::time::timeout(timeout, self.client().send(request)).await {
            Err(_) => return failed(format!("no answer within {}s", timeout.as_secs_f64())),
            Ok(Err(gpuproxy_egress::EgressError::Forbidden { target, reason })) => {
                return Outcome::Refused {
                    status: 0,
                    error: crate::target::forbidden(&target, &reason),
                };
            }
            // The alternate form lists the causes: "outbound request failed: …: connection refused".
            Ok(Err(error)) => return failed(format!("{:#}", anyhow::Error::new(error))),
            Ok(Ok(response)) => response,
        };
        let status = response.status();
        let retry_after = response
            .headers()
            .get(header::RETRY_AFTER)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        // The answer's body is not needed; reading a little lets the connection be reused.
        let _ = tokio::time::timeout(Duration::from_secs(1), response.bytes()).await;
        classify(status, retry_after)
    }

    /// Claims with an asynchronous commit on PostgreSQL: a claim lost in a database crash only
    /// means the delivery is taken again, so it need not wait for the disk.
    async fn claim(&self, ids: &[&str], now: i64, lease_until: i64) -> Result<Vec<String>, sqlx::Error> {
        let mut transaction = self.relaxed_transaction().await?;
        let claimed = deliveries::claim(&mut *transaction, ids, now, lease_until).await?;
        transaction.commit().await?;
        Ok(claimed)
    }

    /// Records an attempt with an asynchronous commit on PostgreSQL: an end lost in a database
    /// crash means the delivery is sent again, which at-least-once delivery allows (receivers
    /// deduplicate on the event id); the fan-out's inserts, which must not be lost, commit normally.
    async fn finish(&self, id: &str, finished: &Finished<'_>) -> Result<(), sqlx::Error> {
        let mut transaction = self.relaxed_transaction().await?;
        deliveries::finish(&mut *transaction, id, finished).await?;
        transaction.commit().await
    }

    async fn relaxed_transaction(
        &self,
    ) -> Result<gpuproxy_db::Transaction<'static, gpuproxy_db::Any>, sqlx::Error> {
        let mut transaction = self.database().pool().begin().await?;
        if self.database().backend() == gpuproxy_db::Backend::Postgres {
            sqlx::query("SET LOCAL synchronous_commit = off")
                .execute(&mut *transaction)
                .await?;
        }
        Ok(transaction)
    }

    async fn forget_old(&self, settings: &DeliverySettings) {
        let retention = i64::try_from(settings.retention.as_millis()).unwrap_or(i64::MAX);
        match deliveries::delete_finished_before(self.database().pool(), now_ms().saturating_sub(retention))
            .await
        {
            Ok(0) => {}
            Ok(deleted) => tracing::info!(deleted, "old webhook deliveries left the log"),
            Err(error) => tracing::warn!(%error, "deleting old webhook deliveries failed"),
        }
    }
}

fn release(per_receiver: &mut HashMap<String, usize>, subscription: &str) {
    if let Some(count) = per_receiver.get_mut(subscription) {
        *count = count.saturating_sub(1);
        if *count == 0 {
            per_receiver.remove(subscription);
        }
    }
}

/// 2xx delivered; 404 and 410 mean the endpoint is gone, and other 4xx that the payload is
/// refused, so neither is retried — except 408, 425 and 429, which ask for a retry like 5xx do.
fn classify(status: StatusCode, retry_after: Option<Duration>) -> Outcome {
    let code = status.as_u16();
    if status.is_success() {
        return Outcome::Delivered(code);
    }
    let error = format!("the receiver answered {status}");
    let retryable = status.is_server_error() || matches!(code, 408 | 425 | 429) || !status.is_client_error();
    if retryable {
        Outcome::Failed {
            status: code,
            error,
            retry_after,
        }
    } else {
        Outcome::Refused { status: code, error }
    }
}

/// The wait after the `attempts`-th failure: `WEBHOOK_RETRY_BASE`·2^(attempts−1), at most
/// `WEBHOOK_RETRY_MAX_BACKOFF`, of which a random half is taken off so that deliveries failed
/// together do not retry together.
fn backoff(settings: &DeliverySettings, attempts: i64) -> Duration {
    let doublings = u32::try_from(attempts.saturating_sub(1).clamp(0, 30)).unwrap_or(30);
    let full = settings
        .retry_base
        .saturating_mul(2u32.saturating_pow(doublings))
        .min(settings.retry_max_backoff);
    let millis = u64::try_from(full.as_millis()).unwrap_or(u64::MAX);
    Duration::from_millis(millis / 2 + rand::random_range(0..=millis / 2))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> DeliverySettings {
        DeliverySettings {
            allowed_hosts: gpuproxy_egress::EgressPolicy::default(),
            timeout: Duration::from_secs(10),
            max_attempts: 15,
            retry_base: Duration::from_secs(10),
            retry_max_backoff: Duration::from_secs(3600),
            concurrency: 64,
            per_receiver_concurrency: 4,
            poll_interval: Duration::from_secs(1),
            retention: Duration::from_secs(86_400),
        }
    }

    #[test]
    fn backoff_doubles_within_its_jitter_and_stops_at_the_cap() {
        let settings = settings();
        for attempts in 1..=15 {
            let full = (10u64 << (attempts - 1).min(20)).min(3600);
            for _ in 0..50 {
                let wait = backoff(&settings, attempts).as_secs_f64();
                assert!(
                    wait >= full as f64 / 2.0 - 0.001 && wait <= full as f64 + 0.001,
                    "{attempts}: {wait}"
                );
            }
        }
        let total: u64 = (1..15).map(|attempts| (10u64 << (attempts - 1)).min(3600)).sum();
        assert!(
            total / 2 > 3 * 3600,
            "fifteen attempts span hours: {total}s at most, half at least"
        );
    }

    #[test]
    fn gone_receivers_are_dead_lettered_and_busy_ones_retried() {
        assert_eq!(classify(StatusCode::NO_CONTENT, None), Outcome::Delivered(204));
        for gone in [StatusCode::GONE, StatusCode::NOT_FOUND, StatusCode::BAD_REQUEST] {
            assert!(matches!(classify(gone, None), Outcome::Refused { .. }), "{gone}");
        }
        for busy in [
            StatusCode::INTERNAL_SERVER_ERROR,
            StatusCode::SERVICE_UNAVAILABLE,
            StatusCode::TOO_MANY_REQUESTS,
            StatusCode::REQUEST_TIMEOUT,
        ] {
            assert!(matches!(classify(busy, None), Outcome::Failed { .. }), "{busy}");
        }
    }
}
