//! Outbound HTTP to user-supplied URLs, refusing private, loopback and link-local addresses.
//!
//! The gateway's proxy (and later webhook delivery) sends requests to URLs that users choose, so a URL
//! such as `http://169.254.169.254/latest/meta-data` must not reach the cloud metadata service, nor
//! `http://localhost:5432` our own database. [`EgressClient`] refuses every non-public address by
//! construction: IP literals are checked before sending, hostnames are checked by the resolver after DNS
//! resolution (so the checked address is the connected address), and every redirect is followed by hand and
//! checked again. An operator [`EgressPolicy`] of [`AllowRule`]s lets chosen hosts through.
//!
//! Layout: `address.rs` classifies addresses ([`classify_address`], [`AddressClass`]); `rule.rs` parses one
//! [`AllowRule`]; `policy.rs` holds the list ([`EgressPolicy`]); `resolver.rs` is the refusing DNS resolver
//! ([`GuardedResolver`], [`Lookup`], [`RefusedAddress`]); `redirect.rs` turns a redirect into the next
//! request; `client.rs` checks URLs and sends ([`EgressClient`], [`Route`]); `error.rs` has [`EgressError`].

mod address;
mod client;
mod error;
mod policy;
mod redirect;
mod resolver;
mod rule;

pub use address::{AddressClass, classify_address, is_forbidden_address};
pub use client::{EgressClient, EgressClientBuilder, Route};
pub use error::{ClientBuildError, EgressError};
pub use policy::EgressPolicy;
pub use resolver::{GuardedResolver, Lookup, RefusedAddress};
pub use rule::{AllowRule, RuleError};
