//! The SSRF-guarded HTTP client: URL checks, the choice between the two underlying clients, and redirects.

use std::sync::Arc;
use std::time::Duration;

use reqwest::{Request, Response, Url, redirect};

use crate::address::classify_address;
use crate::error::{ClientBuildError, EgressError};
use crate::policy::EgressPolicy;
use crate::redirect::SentRequest;
use crate::resolver::{GuardedResolver, Lookup, TrustingResolver};
use crate::rule::TargetHost;

/// Which underlying client a URL is sent with, as decided by [`EgressClient::check_url`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// The allow-list names the target, so it is sent without address checks.
    AllowListed,
    /// Any other target; its name is resolved by the resolver that refuses non-public addresses.
    Guarded,
}

/// Sends requests to user-supplied URLs while refusing private, loopback, link-local and other non-public
/// addresses, re-checking every redirect. Cheap to clone; clones share connection pools.
#[derive(Debug, Clone)]
pub struct EgressClient {
    /// The operator's allow-list, shared with the guarded resolver.
    policy: Arc<EgressPolicy>,
    /// For [`Route::Guarded`]: resolves through [`GuardedResolver`]. Never follows redirects itself.
    guarded: reqwest::Client,
    /// For [`Route::AllowListed`]: trusts every resolved address. Never follows redirects itself.
    allow_listed: reqwest::Client,
}

/// Configures an [`EgressClient`]; created by [`EgressClient::builder`].
#[derive(Debug)]
pub struct EgressClientBuilder {
    /// Moves into an `Arc` shared by the client and its guarded resolver.
    policy: EgressPolicy,
    /// Used by both underlying clients, so a static table in tests covers allow-listed names too.
    lookup: Lookup,
    /// Applies to both underlying clients.
    connect_timeout: Duration,
}

impl EgressClient {
    /// The most redirects one [`EgressClient::send`] follows, the same limit as reqwest's default policy.
    pub const MAX_REDIRECTS: usize = 10;

    /// How long connecting may take unless [`EgressClientBuilder::connect_timeout`] says otherwise.
    pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

    /// Returns a builder using the system resolver and [`EgressClient::DEFAULT_CONNECT_TIMEOUT`].
    pub fn builder(policy: EgressPolicy) -> EgressClientBuilder {
        EgressClientBuilder {
            policy,
            lookup: Lookup::System,
            connect_timeout: Self::DEFAULT_CONNECT_TIMEOUT,
        }
    }

    /// Creates a client with the default settings.
    pub fn new(policy: EgressPolicy) -> Result<Self, ClientBuildError> {
        Self::builder(policy).build()
    }

    /// Returns the allow-list the client was built with.
    pub fn policy(&self) -> &EgressPolicy {
        &self.policy
    }

    /// Checks a URL before sending, so callers can refuse early (a 403 before reading a request body).
    ///
    /// The scheme must be http or https. Allow-listed host and port pairs take [`Route::AllowListed`]. IP
    /// literals are refused here when forbidden, because reqwest connects to literals without consulting
    /// any resolver. Other hostnames take [`Route::Guarded`] and are judged by their resolved addresses.
    pub fn check_url(&self, url: &Url) -> Result<Route, EgressError> {
        // The URL itself stays out of messages: its query string or user info may hold credentials.
        let scheme = url.scheme();
        if scheme != "http" && scheme != "https" {
            return Err(EgressError::InvalidUrl(format!(
                "the url uses the {scheme} scheme; only http and https are allowed"
            )));
        }
        let host = url.host_str().filter(|host| !host.is_empty());
        let (Some(host), Some(port)) = (host, url.port_or_known_default()) else {
            return Err(EgressError::InvalidUrl("the url has no host".to_owned()));
        };
        if self.policy.allows(host, port) {
            return Ok(Route::AllowListed);
        }
        if let TargetHost::Address(address) = TargetHost::parse(host)
            && let Some(class) = classify_address(address)
        {
            return Err(EgressError::forbidden_literal(host, address, class));
        }
        Ok(Route::Guarded)
    }

    /// Sends `request`, following up to [`EgressClient::MAX_REDIRECTS`] redirects and checking every hop
    /// with [`EgressClient::check_url`] before it is sent.
    ///
    /// Bodies are never buffered: the final response is returned for the caller to stream. Credentials
    /// headers are dropped when a redirect changes origin; see the `redirect` module for the method rules.
    pub async fn send(&self, request: Request) -> Result<Response, EgressError> {
        let mut request = request;
        let mut redirects_followed = 0;
        loop {
            let client = match self.check_url(request.url())? {
                Route::AllowListed => &self.allow_listed,
                Route::Guarded => &self.guarded,
            };
            let sent = SentRequest::capture(&request);
            let response = client.execute(request).await?;
            let Some(next) = sent.next_request(&response) else {
                return Ok(response);
            };
            if redirects_followed == Self::MAX_REDIRECTS {
                return Err(EgressError::TooManyRedirects);
            }
            redirects_followed += 1;
            tracing::debug!(status = %response.status(), host = next.url().host_str(), "following redirect");
            request = next;
        }
    }
}

impl EgressClientBuilder {
    /// Replaces the system resolver, typically with [`Lookup::Static`] in tests.
    pub fn lookup(mut self, lookup: Lookup) -> Self {
        self.lookup = lookup;
        self
    }

    /// Sets how long establishing a connection (TCP and TLS) may take.
    pub fn connect_timeout(mut self, connect_timeout: Duration) -> Self {
        self.connect_timeout = connect_timeout;
        self
    }

    /// Builds the client.
    pub fn build(self) -> Result<EgressClient, ClientBuildError> {
        let policy = Arc::new(self.policy);
        let lookup = Arc::new(self.lookup);
        let guarded = base_client(self.connect_timeout)
            .dns_resolver(GuardedResolver::new(Arc::clone(&lookup), Arc::clone(&policy)))
            .build()?;
        let allow_listed = base_client(self.connect_timeout)
            .dns_resolver(TrustingResolver::new(lookup))
            .build()?;
        Ok(EgressClient {
            policy,
            guarded,
            allow_listed,
        })
    }
}

fn base_client(connect_timeout: Duration) -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        // Redirects are followed by `send`, which checks each hop; reqwest's own policy would not.
        .redirect(redirect::Policy::none())
        // Through an HTTP proxy the resolver would vet the proxy's address, not the target's.
        .no_proxy()
        .connect_timeout(connect_timeout)
}
