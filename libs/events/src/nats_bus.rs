//! The bus on NATS JetStream.

use std::sync::Arc;
use std::time::Duration;

use async_nats::Event;
use async_nats::jetstream::{self, message::PublishMessage, stream::StorageType};
use futures::StreamExt;
use gpuproxy_config::NatsConfig;
use tokio::sync::{OnceCell, watch};

use crate::{BusError, Delivery, Event as DomainEvent, Received};

/// JetStream drops a second message with the same id within this window, so a relay that publishes
/// an event twice (crash between publish and bookkeeping, two replicas) stores it once.
const DUPLICATE_WINDOW: Duration = Duration::from_secs(120);

/// Longest wait for JetStream to store an event (or create the stream). Without a bound, a publish
/// issued while the connection is down waits for the reconnection, and the relay stalls with it.
const PUBLISH_TIMEOUT: Duration = Duration::from_secs(5);

/// Publishes events to a JetStream stream that captures `<prefix>.>`, and subscribes with core NATS
/// subscriptions (every process sees every event, as cache invalidation needs).
#[derive(Debug, Clone)]
pub struct NatsBus {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    /// Counts the moments events may have been lost (connection lost or regained, slow consumer).
    gaps: Arc<watch::Sender<u64>>,
    client: async_nats::Client,
    jetstream: jetstream::Context,
    prefix: String,
    stream_config: jetstream::stream::Config,
    stream_ready: OnceCell<()>,
}

/// A JetStream durable pull consumer, (re)opened whenever the server comes back.
pub struct NatsConsumer {
    bus: NatsBus,
    name: String,
    filter_subject: String,
    messages: Option<jetstream::consumer::pull::Stream>,
    backoff: Duration,
}

impl std::fmt::Debug for NatsConsumer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NatsConsumer")
            .field("name", &self.name)
            .field("filter_subject", &self.filter_subject)
            .field("open", &self.messages.is_some())
            .finish_non_exhaustive()
    }
}

/// Longest wait between attempts to open a consumer while the server is unreachable.
const MAX_CONSUMER_BACKOFF: Duration = Duration::from_secs(5);

/// A subscription to NATS subjects.
#[derive(Debug)]
pub struct NatsSubscription {
    subscriber: async_nats::Subscriber,
    gaps: watch::Receiver<u64>,
}

fn nats_error(error: impl std::fmt::Display) -> BusError {
    BusError::Nats(error.to_string())
}

impl NatsBus {
    pub(crate) async fn connect(config: &NatsConfig) -> Result<Self, BusError> {
        let url = config.url.clone().unwrap_or_default();
        let gaps = Arc::new(watch::channel(0u64).0);
        let gaps_seen_by_callback = Arc::clone(&gaps);
        let client = async_nats::ConnectOptions::new()
            .connection_timeout(config.connect_timeout)
            .retry_on_initial_connect()
            .event_callback(move |event| {
                let gaps = Arc::clone(&gaps_seen_by_callback);
                async move {
                    if matches!(
                        event,
                        Event::Connected | Event::Disconnected | Event::SlowConsumer(_)
                    ) {
                        tracing::info!(%event, "nats connection event");
                        gaps.send_modify(|count| *count = count.wrapping_add(1));
                    }
                }
            })
            .connect(url.as_str())
            .await
            .map_err(nats_error)?;
        let jetstream = jetstream::new(client.clone());
        let stream_config = jetstream::stream::Config {
            name: config.stream.clone(),
            subjects: vec![format!("{}.>", config.subject_prefix)],
            max_age: config.max_age,
            storage: StorageType::File,
            duplicate_window: DUPLICATE_WINDOW,
            ..Default::default()
        };
        tracing::info!(url = %url, stream = %config.stream, "connecting to nats");
        Ok(NatsBus {
            inner: Arc::new(Inner {
                gaps,
                client,
                jetstream,
                prefix: config.subject_prefix.clone(),
                stream_config,
                stream_ready: OnceCell::new(),
            }),
        })
    }

    pub(crate) async fn publish(&self, event: &DomainEvent) -> Result<(), BusError> {
        // A lost connection fails at once; a first connection still being made gets the timeout.
        if self.inner.client.connection_state() == async_nats::connection::State::Disconnected {
            return Err(BusError::Nats("disconnected from the server".to_owned()));
        }
        let payload = serde_json::to_vec(event)?;
        let subject = format!("{}.{}", self.inner.prefix, event.event);
        let message = PublishMessage::build()
            .payload(payload.into())
            .message_id(event.id.to_string());
        let publish = async {
            self.ensure_stream().await?;
            let ack = self
                .inner
                .jetstream
                .send_publish(subject, message)
                .await
                .map_err(nats_error)?;
            ack.await.map_err(nats_error)?;
            Ok(())
        };
        tokio::time::timeout(PUBLISH_TIMEOUT, publish)
            .await
            .map_err(|_| BusError::Nats(format!("no acknowledgement within {PUBLISH_TIMEOUT:?}")))?
    }

    pub(crate) async fn subscribe(&self, pattern: &str) -> Result<NatsSubscription, BusError> {
        let subscriber = self
            .inner
            .client
            .subscribe(format!("{}.{pattern}", self.inner.prefix))
            .await
            .map_err(nats_error)?;
        Ok(NatsSubscription {
            subscriber,
            gaps: self.inner.gaps.subscribe(),
        })
    }

    pub(crate) fn consumer(&self, name: &str, pattern: &str) -> NatsConsumer {
        NatsConsumer {
            bus: self.clone(),
            name: name.to_owned(),
            filter_subject: format!("{}.{pattern}", self.inner.prefix),
            messages: None,
            backoff: Duration::ZERO,
        }
    }

    pub(crate) fn is_connected(&self) -> bool {
        self.inner.client.connection_state() == async_nats::connection::State::Connected
    }

    /// Says why events cannot be stored now: no connection, or a stream that cannot be created
    /// (another stream of the server already captures these subjects, say); `None` when they can.
    pub(crate) async fn stream_problem(&self) -> Option<String> {
        if !self.is_connected() {
            return Some("not connected to the NATS server".to_owned());
        }
        let stream = &self.inner.stream_config.name;
        match tokio::time::timeout(PUBLISH_TIMEOUT, self.ensure_stream()).await {
            Ok(Ok(())) => None,
            Ok(Err(error)) => Some(format!("the JetStream stream {stream} cannot be used: {error}")),
            Err(_) => Some(format!(
                "the JetStream stream {stream} did not answer within {PUBLISH_TIMEOUT:?}"
            )),
        }
    }

    /// Creates the stream on first use rather than at connect time, so a NATS that is down when the
    /// service starts only delays events.
    async fn ensure_stream(&self) -> Result<(), BusError> {
        self.inner
            .stream_ready
            .get_or_try_init(|| async {
                self.inner
                    .jetstream
                    .get_or_create_stream(self.inner.stream_config.clone())
                    .await
                    .map_err(nats_error)?;
                Ok::<(), BusError>(())
            })
            .await?;
        Ok(())
    }
}

impl NatsConsumer {
    pub(crate) async fn next(&mut self) -> Received {
        loop {
            let Some(messages) = self.messages.as_mut() else {
                match tokio::time::timeout(PUBLISH_TIMEOUT, self.open()).await {
                    Ok(Ok(messages)) => {
                        self.messages = Some(messages);
                        self.backoff = Duration::ZERO;
                    }
                    Ok(Err(error)) => self.wait_after(error.to_string()).await,
                    Err(_) => self.wait_after("no answer from the server".to_owned()).await,
                }
                continue;
            };
            match messages.next().await {
                Some(Ok(message)) => match serde_json::from_slice::<DomainEvent>(&message.payload) {
                    Ok(event) => return Received::from_nats(event, message),
                    Err(error) => {
                        tracing::warn!(subject = %message.subject, %error, "skipping a message that is not an event");
                        // Acknowledged so that it does not come back forever.
                        let _ = message.ack().await;
                    }
                },
                Some(Err(error)) => {
                    self.messages = None;
                    self.wait_after(error.to_string()).await;
                }
                None => self.messages = None,
            }
        }
    }

    async fn wait_after(&mut self, error: String) {
        self.backoff = (self.backoff * 2).clamp(Duration::from_millis(100), MAX_CONSUMER_BACKOFF);
        tracing::warn!(consumer = %self.name, %error, retry_in = ?self.backoff, "the durable consumer is not reading");
        tokio::time::sleep(self.backoff).await;
    }

    async fn open(&self) -> Result<jetstream::consumer::pull::Stream, BusError> {
        use jetstream::consumer::{AckPolicy, DeliverPolicy, pull};
        let inner = &self.bus.inner;
        let stream = inner
            .jetstream
            .get_or_create_stream(inner.stream_config.clone())
            .await
            .map_err(nats_error)?;
        let consumer = stream
            .get_or_create_consumer(
                &self.name,
                pull::Config {
                    durable_name: Some(self.name.clone()),
                    filter_subject: self.filter_subject.clone(),
                    ack_policy: AckPolicy::Explicit,
                    deliver_policy: DeliverPolicy::All,
                    ack_wait: crate::ACK_WAIT,
                    max_ack_pending: 1024,
                    ..Default::default()
                },
            )
            .await
            .map_err(nats_error)?;
        consumer.messages().await.map_err(nats_error)
    }
}

impl NatsSubscription {
    pub(crate) async fn next(&mut self) -> Option<Delivery> {
        let mut gaps_open = true;
        loop {
            tokio::select! {
                changed = self.gaps.changed(), if gaps_open => {
                    match changed {
                        Ok(()) => return Some(Delivery::Missed),
                        // The client is gone; the subscription ends with it below.
                        Err(_) => gaps_open = false,
                    }
                }
                message = self.subscriber.next() => {
                    let message = message?;
                    match serde_json::from_slice::<DomainEvent>(&message.payload) {
                        Ok(event) => return Some(Delivery::Event(event)),
                        Err(error) => {
                            tracing::warn!(subject = %message.subject, %error, "skipping a message that is not an event");
                        }
                    }
                }
            }
        }
    }
}
