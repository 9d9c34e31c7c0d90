//! Durable consumption: a named consumer that resumes where it stopped and sees each event until it
//! acknowledges it, for work that must not miss an event (webhook delivery).

use std::time::Duration;

use crate::in_process_bus::InProcessSubscription;
use crate::nats_bus::NatsConsumer;
use crate::{BusError, Event, EventBus};

/// How long a NATS consumer waits for an acknowledgement before delivering the event again.
pub const ACK_WAIT: Duration = Duration::from_secs(30);

/// A feed of events that survives restarts (NATS: a JetStream durable consumer) or, in one
/// process, the in-process bus from the moment of subscribing.
#[derive(Debug)]
pub struct DurableSubscription {
    inner: Inner,
}

#[derive(Debug)]
enum Inner {
    Nats(Box<NatsConsumer>),
    InProcess(InProcessSubscription),
}

/// An event to acknowledge once it has been handled; an event never acknowledged comes again.
#[derive(Debug)]
pub struct Received {
    /// The event.
    pub event: Event,
    acker: Option<async_nats::jetstream::Message>,
}

impl EventBus {
    /// Returns the durable consumer `name` of the events matching `pattern`. With NATS it is
    /// created on first use (the server may be down now) and sees the stream from its start; a
    /// consumer that already exists resumes after its last acknowledgement.
    pub fn consume(&self, name: &str, pattern: &str) -> DurableSubscription {
        let inner = match self {
            EventBus::Nats(bus) => Inner::Nats(Box::new(bus.consumer(name, pattern))),
            EventBus::InProcess(bus) => Inner::InProcess(bus.subscribe(pattern)),
        };
        DurableSubscription { inner }
    }
}

impl DurableSubscription {
    /// Returns the next event; waits (retrying the server) while NATS is unreachable. `None` once
    /// the in-process bus is gone.
    pub async fn next(&mut self) -> Option<Received> {
        match &mut self.inner {
            Inner::Nats(consumer) => Some(consumer.next().await),
            Inner::InProcess(subscription) => loop {
                match subscription.next().await? {
                    crate::Delivery::Event(event) => return Some(Received { event, acker: None }),
                    crate::Delivery::Missed => {
                        tracing::error!("a durable in-process consumer fell behind and missed events");
                    }
                }
            },
        }
    }
}

impl Received {
    pub(crate) fn from_nats(event: Event, message: async_nats::jetstream::Message) -> Self {
        Received {
            event,
            acker: Some(message),
        }
    }

    /// Acknowledges the event: it is not delivered to this consumer again.
    pub async fn ack(self) -> Result<(), BusError> {
        if let Some(message) = self.acker {
            // A plain acknowledgement: a lost one only means the event comes again, and consumers
            // deduplicate on the event id.
            message
                .ack()
                .await
                .map_err(|error| BusError::Nats(error.to_string()))?;
        }
        Ok(())
    }
}
