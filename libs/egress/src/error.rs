//! Errors of outbound requests and of building the client.

use std::net::IpAddr;

use crate::address::AddressClass;
use crate::resolver::RefusedAddress;

/// Says why an outbound request was not sent or did not complete.
#[derive(Debug, thiserror::Error)]
pub enum EgressError {
    /// The target (or a redirect's target) is a non-public address and not allow-listed; maps to 403.
    #[error("{target} {reason}; the proxy only reaches public addresses and allow-listed hosts")]
    Forbidden {
        /// The URL host that was refused.
        target: String,
        /// Completes the sentence that starts with the target: "is a loopback address" or
        /// "resolves to 10.0.0.1, a private address".
        reason: String,
    },
    /// The URL (or a redirect's `Location`) is not an http or https URL with a host; maps to 400.
    #[error("{0}")]
    InvalidUrl(String),
    /// The upstream redirected more than [`crate::EgressClient::MAX_REDIRECTS`] times; maps to 502.
    #[error(
        "the upstream redirected more than {} times",
        crate::EgressClient::MAX_REDIRECTS
    )]
    TooManyRedirects,
    /// Connecting, sending or receiving failed; maps to 502 (or 504 when `is_timeout`).
    #[error("outbound request failed")]
    Request(#[source] reqwest::Error),
}

/// Says that the underlying HTTP clients could not be built, which happens only when TLS cannot initialise.
#[derive(Debug, thiserror::Error)]
#[error("could not build the outbound http client")]
pub struct ClientBuildError(#[from] reqwest::Error);

impl EgressError {
    /// Creates the error for a URL that names a forbidden address literally.
    pub(crate) fn forbidden_literal(target: &str, address: IpAddr, class: AddressClass) -> Self {
        tracing::debug!(host = target, %address, %class, "refused literal address");
        EgressError::Forbidden {
            target: target.to_owned(),
            reason: format!("is {class}"),
        }
    }
}

impl From<reqwest::Error> for EgressError {
    /// Turns a resolver refusal buried in reqwest's error chain back into [`EgressError::Forbidden`], so
    /// callers see the same error whether the address was a literal or came from DNS.
    fn from(error: reqwest::Error) -> Self {
        match RefusedAddress::find_in(&error) {
            Some(refusal) => EgressError::Forbidden {
                target: refusal.host.clone(),
                reason: format!("resolves to {}, {}", refusal.address, refusal.class),
            },
            None => EgressError::Request(error),
        }
    }
}
