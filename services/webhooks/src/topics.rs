//! Which events a subscription may ask for.

use gpuproxy_events::names;

use crate::error::Error;

/// The events `POST /webhooks/billing` subscriptions are limited to.
pub const BILLING_EVENTS: [&str; 4] = [
    names::PAYMENT_COMPLETED,
    names::PAYMENT_FAILED,
    names::CREDITS_LOW,
    names::SUBSCRIPTION_RENEWED,
];

/// Most names or patterns one subscription may list.
const MAX_TOPICS: usize = 64;

/// What a subscription receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Any event (`POST /webhooks`).
    All,
    /// Billing events only (`POST /webhooks/billing`).
    Billing,
}

impl Kind {
    /// Parses `all` / `billing` (empty: `all`).
    pub fn parse(text: &str) -> Result<Self, Error> {
        match text {
            "" | "all" => Ok(Kind::All),
            "billing" => Ok(Kind::Billing),
            other => Err(Error::invalid("kind", format!("{other:?} is not all or billing"))),
        }
    }

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::All => "all",
            Kind::Billing => "billing",
        }
    }

    fn allowed(self) -> &'static [&'static str] {
        match self {
            Kind::All => &names::ALL,
            Kind::Billing => &BILLING_EVENTS,
        }
    }
}

/// Returns the names and patterns a subscription of `kind` listens to: each must match at least
/// one event the kind allows (an empty list means all of them). `payment.success`, the seed's name
/// for a settled payment, is read as `payment.completed`.
pub fn validate(kind: Kind, requested: &[String]) -> Result<Vec<String>, Error> {
    if requested.len() > MAX_TOPICS {
        return Err(Error::invalid(
            "events",
            format!("lists more than {MAX_TOPICS} names"),
        ));
    }
    if requested.is_empty() {
        return Ok(kind.allowed().iter().map(|name| (*name).to_owned()).collect());
    }
    let mut topics: Vec<String> = Vec::with_capacity(requested.len());
    for topic in requested {
        let topic = match topic.trim() {
            "payment.success" => names::PAYMENT_COMPLETED,
            other => other,
        };
        if !kind
            .allowed()
            .iter()
            .any(|name| gpuproxy_events::matches(topic, name))
        {
            return Err(Error::UnknownEvent(format!(
                "{topic:?} matches no event{}; known events: {}",
                if kind == Kind::Billing {
                    " a billing webhook receives"
                } else {
                    ""
                },
                kind.allowed().join(", ")
            )));
        }
        if !topics.iter().any(|seen| seen == topic) {
            topics.push(topic.to_owned());
        }
    }
    Ok(topics)
}

/// Returns true when `event` is one of `topics`.
pub fn wants(topics: &[String], event: &str) -> bool {
    topics.iter().any(|topic| gpuproxy_events::matches(topic, event))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(names: &[&str]) -> Vec<String> {
        names.iter().map(|name| (*name).to_owned()).collect()
    }

    #[test]
    fn names_and_patterns_that_match_an_event_are_kept() {
        let topics =
            validate(Kind::All, &strings(&["instance.created", "payment.*", "auth.>"])).expect("valid");
        assert_eq!(topics, strings(&["instance.created", "payment.*", "auth.>"]));
        assert!(wants(&topics, "payment.failed"));
        assert!(wants(&topics, "auth.apikey.revoked"));
        assert!(!wants(&topics, "instance.destroyed"));
    }

    #[test]
    fn unknown_names_are_refused_with_their_code() {
        for bad in ["instance.exploded", "nothing.>", "", "payment"] {
            let error = validate(Kind::All, &strings(&[bad])).expect_err(bad);
            assert!(matches!(error, Error::UnknownEvent(_)), "{bad}: {error}");
        }
    }

    #[test]
    fn billing_subscriptions_take_billing_events_only() {
        let topics =
            validate(Kind::Billing, &strings(&["payment.success", "payment.failed"])).expect("valid");
        assert_eq!(topics, strings(&["payment.completed", "payment.failed"]));
        assert!(validate(Kind::Billing, &strings(&["instance.created"])).is_err());
        assert_eq!(
            validate(Kind::Billing, &[]).expect("default"),
            strings(&BILLING_EVENTS)
        );
    }
}
