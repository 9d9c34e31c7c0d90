//! The bus callers hold.

use gpuproxy_config::NatsConfig;

use crate::Event;
use crate::in_process_bus::{InProcessBus, InProcessSubscription};
use crate::nats_bus::{NatsBus, NatsSubscription};

/// Why an event could not be published or subscribed to.
#[derive(Debug, thiserror::Error)]
pub enum BusError {
    /// The NATS server could not be reached or refused the operation.
    #[error("nats: {0}")]
    Nats(String),
    /// The event could not be encoded.
    #[error("encoding the event: {0}")]
    Encode(#[from] serde_json::Error),
}

/// Where events go: NATS JetStream in the fleet, an in-process broadcast when embedded. Cheap to clone.
#[derive(Debug, Clone)]
pub enum EventBus {
    /// Events are stored in a JetStream stream and seen by every process.
    Nats(NatsBus),
    /// Events are seen by subscribers in this process only.
    InProcess(InProcessBus),
}

/// What a subscription yields.
#[derive(Debug, Clone, PartialEq)]
pub enum Delivery {
    /// The next matching event.
    Event(Event),
    /// Events may have been lost here: the connection to NATS dropped or came back, the server cut
    /// a slow subscriber off, or an in-process subscriber fell too far behind. Whoever keeps state
    /// derived from events (a cache) must treat it as stale.
    Missed,
}

/// A live feed of the events matching a pattern, from the moment of subscribing.
#[derive(Debug)]
pub enum Subscription {
    /// From NATS.
    Nats(NatsSubscription),
    /// From the in-process bus.
    InProcess(InProcessSubscription),
}

impl EventBus {
    /// Connects to NATS when `config` names a server (in the background: a NATS that starts later is
    /// fine, events wait in the outbox), or returns an in-process bus.
    pub async fn connect(config: &NatsConfig) -> Result<Self, BusError> {
        match &config.url {
            Some(_) => Ok(EventBus::Nats(NatsBus::connect(config).await?)),
            None => Ok(EventBus::in_process()),
        }
    }

    /// Returns a new in-process bus.
    pub fn in_process() -> Self {
        EventBus::InProcess(InProcessBus::default())
    }

    /// Returns `nats` or `in-process`, for health reports.
    pub fn kind(&self) -> &'static str {
        match self {
            EventBus::Nats(_) => "nats",
            EventBus::InProcess(_) => "in-process",
        }
    }

    /// Publishes `event`; with NATS, returns once JetStream has stored it.
    pub async fn publish(&self, event: &Event) -> Result<(), BusError> {
        match self {
            EventBus::Nats(bus) => bus.publish(event).await,
            EventBus::InProcess(bus) => bus.publish(event),
        }
    }

    /// Subscribes to the events whose names match `pattern` (`auth.>`, `*.created`, an exact name).
    pub async fn subscribe(&self, pattern: &str) -> Result<Subscription, BusError> {
        match self {
            EventBus::Nats(bus) => Ok(Subscription::Nats(bus.subscribe(pattern).await?)),
            EventBus::InProcess(bus) => Ok(Subscription::InProcess(bus.subscribe(pattern))),
        }
    }

    /// Says why events cannot be stored now (NATS unreachable, its stream unusable), or `None`
    /// when they can; the in-process bus always can.
    pub async fn stream_problem(&self) -> Option<String> {
        match self {
            EventBus::Nats(bus) => bus.stream_problem().await,
            EventBus::InProcess(_) => None,
        }
    }

    /// Returns true when the bus can deliver events now.
    pub fn is_connected(&self) -> bool {
        match self {
            EventBus::Nats(bus) => bus.is_connected(),
            EventBus::InProcess(_) => true,
        }
    }
}

impl Subscription {
    /// Returns the next matching event, passing over gaps: for consumers that keep no state derived
    /// from earlier events, for which a gap changes nothing.
    pub async fn next_event(&mut self) -> Option<Event> {
        loop {
            match self.next().await? {
                Delivery::Event(event) => return Some(event),
                Delivery::Missed => {}
            }
        }
    }

    /// Returns the next matching event or a gap, or `None` once the bus is gone.
    pub async fn next(&mut self) -> Option<Delivery> {
        match self {
            Subscription::Nats(subscription) => subscription.next().await,
            Subscription::InProcess(subscription) => subscription.next().await,
        }
    }
}
