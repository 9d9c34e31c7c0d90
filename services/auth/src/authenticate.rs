//! Resolving a credential to the principal it stands for.

use gpuproxy_domain::{Credential, Email, Principal, now_ms};
use subtle::ConstantTimeEq;

use crate::Error;
use crate::domain::ApiKeySecret;
use crate::repo::api_keys;
use crate::repo::users::{self, UserRecord};
use crate::service::AuthService;

/// `last_used_at` is written at most this often per key.
const LAST_USED_THROTTLE_MS: i64 = 60_000;

impl AuthService {
    /// Returns the principal behind a bearer JWT: signed by us, not expired, and of a session that has
    /// not ended.
    pub async fn authenticate_token(&self, token: &str) -> Result<Principal, Error> {
        let claims = self.inner.tokens.verify(token)?;
        let session = self
            .inner
            .sessions
            .find(&claims.sid)
            .await?
            .ok_or(Error::SessionEnded)?;
        if session.user_id != claims.sub {
            return Err(Error::InvalidToken);
        }
        let user = users::find_by_id(self.inner.database.pool(), &claims.sub.to_string())
            .await?
            .ok_or(Error::InvalidToken)?;
        principal(
            &user,
            Credential::Session(claims.sid),
            Some(claims.exp.saturating_mul(1000)),
        )
    }

    /// Returns the principal behind an API key: one we issued, not revoked, not expired.
    pub async fn authenticate_api_key(&self, key: &str) -> Result<Principal, Error> {
        let secret = ApiKeySecret::parse(key).ok_or(Error::InvalidApiKey)?;
        let pool = self.inner.database.pool();
        let record = api_keys::find_by_prefix(pool, secret.lookup_prefix())
            .await?
            .ok_or(Error::InvalidApiKey)?;
        // Constant time: the comparison must not tell an attacker how much of a guess was right.
        let hash_matches: bool = secret.hash().as_bytes().ct_eq(record.key_hash.as_bytes()).into();
        if !hash_matches {
            return Err(Error::InvalidApiKey);
        }
        if record.revoked_at.is_some() {
            return Err(Error::ApiKeyRevoked);
        }
        let now = now_ms();
        if record.expires_at.is_some_and(|expires_at| expires_at <= now) {
            return Err(Error::ApiKeyExpired);
        }
        let user = users::find_by_id(pool, &record.user_id.to_string())
            .await?
            .ok_or(Error::InvalidApiKey)?;
        if let Err(error) = api_keys::touch(pool, &record.id, now, LAST_USED_THROTTLE_MS).await {
            tracing::warn!(key_id = %record.id, %error, "recording a key's use failed");
        }
        principal(&user, Credential::ApiKey(record.id), record.expires_at)
    }
}

fn principal(
    user: &UserRecord,
    credential: Credential,
    expires_at_ms: Option<i64>,
) -> Result<Principal, Error> {
    let corrupt = |what: &str| Error::Internal(anyhow::anyhow!("user {} has an invalid {what}", user.id));
    Ok(Principal {
        user_id: user.id,
        email: Email::parse(&user.email).map_err(|_| corrupt("email"))?,
        is_admin: user.is_admin(),
        credential,
        expires_at_ms,
    })
}
