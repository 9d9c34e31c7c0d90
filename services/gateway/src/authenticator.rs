//! Verifying credentials, with a cache so that a known key costs no call to the auth service.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use gpuproxy_domain::{Credential, Email, Principal, UserId};
use gpuproxy_errors::ErrorCode;
use gpuproxy_events::{Delivery, EventBus, names};
use gpuproxy_proto::gpuproxy::auth::v1 as proto;
use gpuproxy_proto::gpuproxy::auth::v1::auth_service_client::AuthServiceClient;
use gpuproxy_proto::gpuproxy::events::v1 as events;
use gpuproxy_server::GrpcChannel;
use moka::future::Cache;
use sha2::{Digest, Sha256};
use tokio_util::sync::CancellationToken;

use crate::data_plane::AuthMemo;
use crate::{Credentials, Error};

/// Credentials cached at most; beyond this the least used are dropped.
const CACHE_CAPACITY: u64 = 100_000;

/// Turns credentials into principals. A verified credential is cached for `AUTH_CACHE_TTL` (or
/// until it expires, if sooner) under the SHA-256 of the credential, never the credential itself;
/// revocation and logout events drop it from the cache of every gateway at once.
#[derive(Clone)]
pub struct Authenticator {
    client: AuthServiceClient<GrpcChannel>,
    /// Keyed by a SHA-256 digest: foldhash rather than SipHash, as no caller can choose a digest.
    cache: Cache<[u8; 32], Arc<Principal>, foldhash::fast::RandomState>,
    /// Bumped by every invalidation. A lookup that started before an invalidation does not cache its
    /// answer, so a revocation that races with a cache miss cannot leave the revoked key cached.
    epoch: Arc<AtomicU64>,
    call_timeout: Duration,
    /// A REST worker's memo in front of `cache` (see [`Authenticator::for_worker`]).
    memo: Option<AuthMemo>,
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticator")
            .field("cached", &self.cache.entry_count())
            .finish_non_exhaustive()
    }
}

impl Authenticator {
    /// Returns an authenticator asking `client` on cache misses.
    pub fn new(client: AuthServiceClient<GrpcChannel>, cache_ttl: Duration, call_timeout: Duration) -> Self {
        let cache = Cache::builder()
            .max_capacity(CACHE_CAPACITY)
            .time_to_live(cache_ttl)
            .support_invalidation_closures()
            .build_with_hasher(foldhash::fast::RandomState::default());
        Authenticator {
            client,
            cache,
            epoch: Arc::default(),
            call_timeout,
            memo: None,
        }
    }

    /// The same authenticator (cache, epoch, client) with a memo of its own in front of the cache,
    /// for one REST worker.
    pub fn for_worker(&self) -> Self {
        Authenticator {
            memo: Some(AuthMemo::default()),
            ..self.clone()
        }
    }

    /// Returns the principal behind `credentials` when it is cached and still valid: the hot path,
    /// with no call to the auth service.
    pub async fn cached(&self, credentials: &Credentials) -> Option<Arc<Principal>> {
        let key = cache_key(credentials);
        // Read before the cache: an invalidation after this leaves the memo entry unusable.
        let epoch = self.epoch.load(Ordering::Acquire);
        let memoised = self.memo.as_ref().and_then(|memo| memo.get(&key, epoch));
        let principal = match memoised {
            Some(principal) => principal,
            None => {
                // Boxed: the shared cache's lookup is a large future, and every request's future
                // would otherwise carry (and move) room for it though the memo answers most.
                let principal = Box::pin(self.cache.get(&key)).await?;
                if let Some(memo) = &self.memo {
                    memo.put(key, Arc::clone(&principal), epoch);
                }
                principal
            }
        };
        let now_ms = gpuproxy_domain::now_ms();
        if principal
            .expires_at_ms
            .is_none_or(|expires_at| expires_at > now_ms)
        {
            return Some(principal);
        }
        self.cache.invalidate(&key).await;
        None
    }

    /// Returns the principal behind `credentials`, from the cache or the auth service.
    pub async fn authenticate(&self, credentials: &Credentials) -> Result<Arc<Principal>, Error> {
        if let Some(principal) = self.cached(credentials).await {
            return Ok(principal);
        }
        let key = cache_key(credentials);
        let epoch = self.epoch.load(Ordering::Acquire);
        let principal = Arc::new(self.ask_auth_service(credentials).await?);
        if self.epoch.load(Ordering::Acquire) == epoch {
            self.cache.insert(key, Arc::clone(&principal)).await;
            // An invalidation that lands between the check and the insert does not cover an entry
            // inserted after it, so look again and take the entry back out.
            if self.epoch.load(Ordering::Acquire) != epoch {
                self.cache.invalidate(&key).await;
            }
        }
        Ok(principal)
    }

    /// Drops every cached principal that came from the credential `credential_id` (a key or session id).
    pub fn invalidate_credential(&self, credential_id: &str) {
        let credential_id = credential_id.to_owned();
        self.invalidate_where(move |principal| principal.credential_id() == credential_id);
    }

    /// Drops every cached principal of `user_id` (after a role change).
    pub fn invalidate_user(&self, user_id: UserId) {
        self.invalidate_where(move |principal| principal.user_id == user_id);
    }

    /// Drops everything: after missing events (a bus reconnection), nothing cached can be trusted.
    pub fn invalidate_all(&self) {
        self.epoch.fetch_add(1, Ordering::AcqRel);
        self.cache.invalidate_all();
    }

    fn invalidate_where(&self, predicate: impl Fn(&Principal) -> bool + Send + Sync + 'static) {
        self.epoch.fetch_add(1, Ordering::AcqRel);
        if self
            .cache
            .invalidate_entries_if(move |_, principal| predicate(principal))
            .is_err()
        {
            // Only possible without support_invalidation_closures, which `new` enables.
            self.cache.invalidate_all();
        }
    }

    /// Applies auth events to the cache until `shutdown`: revoked keys, ended sessions and changed
    /// roles are dropped the moment their event arrives, and everything is dropped when events may
    /// have been missed (a lost NATS connection), since any cached credential might have been revoked.
    pub async fn follow_revocations(self, bus: EventBus, shutdown: CancellationToken) -> anyhow::Result<()> {
        let mut subscription = bus.subscribe("auth.>").await?;
        loop {
            let delivery = tokio::select! {
                () = shutdown.cancelled() => return Ok(()),
                delivery = subscription.next() => delivery,
            };
            let event = match delivery {
                Some(Delivery::Event(event)) => event,
                Some(Delivery::Missed) => {
                    tracing::warn!("auth events may have been missed; dropping every cached credential");
                    self.invalidate_all();
                    continue;
                }
                None => anyhow::bail!("the event bus closed the subscription to auth events"),
            };
            let read = match event.event.as_str() {
                names::AUTH_APIKEY_REVOKED => event
                    .data_as::<events::ApiKeyRevoked>()
                    .map(|revoked| self.invalidate_credential(&revoked.key_id))
                    .map_err(anyhow::Error::from),
                names::AUTH_SESSION_REVOKED => event
                    .data_as::<events::SessionRevoked>()
                    .map(|revoked| self.invalidate_credential(&revoked.session_id))
                    .map_err(anyhow::Error::from),
                names::AUTH_USER_UPDATED => event
                    .data_as::<events::UserUpdated>()
                    .map_err(anyhow::Error::from)
                    .and_then(|updated| {
                        self.invalidate_user(updated.user_id.parse::<UserId>()?);
                        Ok(())
                    }),
                _ => continue,
            };
            if let Err(error) = read {
                // The credential it names cannot be told: every cached one might be it.
                tracing::warn!(%error, event = %event.event, "an auth event that cannot be read; dropping every cached credential");
                self.invalidate_all();
                continue;
            }
            tracing::debug!(event = %event.event, "auth cache invalidated");
        }
    }

    async fn ask_auth_service(&self, credentials: &Credentials) -> Result<Principal, Error> {
        use proto::authenticate_request::Credential as Sent;
        let credential = match credentials {
            Credentials::Bearer(token) => Sent::BearerToken(token.clone()),
            Credentials::ApiKey(key) => Sent::ApiKey(key.clone()),
        };
        let mut request = tonic::Request::new(proto::AuthenticateRequest {
            credential: Some(credential),
        });
        request.set_timeout(self.call_timeout);
        let principal = self
            .client
            .clone()
            .authenticate(request)
            .await
            .map_err(Error::from)?
            .into_inner();
        principal_from_message(principal)
    }
}

fn cache_key(credentials: &Credentials) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(match credentials {
        Credentials::Bearer(_) => b"jwt:",
        Credentials::ApiKey(_) => b"key:",
    });
    hasher.update(credentials.secret().as_bytes());
    hasher.finalize().into()
}

fn principal_from_message(message: proto::Principal) -> Result<Principal, Error> {
    let invalid = || {
        Error::new(
            ErrorCode::Internal,
            "the auth service returned an invalid principal",
        )
    };
    let credential = match message.kind() {
        proto::CredentialKind::Session => Credential::Session(message.credential_id),
        proto::CredentialKind::ApiKey => Credential::ApiKey(message.credential_id),
        proto::CredentialKind::Unspecified => return Err(invalid()),
    };
    Ok(Principal {
        user_id: message.user_id.parse::<UserId>().map_err(|_| invalid())?,
        email: Email::parse(&message.email).map_err(|_| invalid())?,
        is_admin: message.is_admin,
        credential,
        expires_at_ms: (message.expires_at_ms != 0).then_some(message.expires_at_ms),
    })
}
