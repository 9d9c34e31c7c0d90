//! Creating, listing and revoking API keys.

use gpuproxy_domain::{UserId, now_ms};
use gpuproxy_events::names;
use gpuproxy_proto::gpuproxy::events::v1::{ApiKeyCreated, ApiKeyRevoked};

use crate::Error;
use crate::domain::{ApiKeySecret, DisplayName};
use crate::repo::api_keys::{self, ApiKeyRecord};
use crate::repo::users;
use crate::service::{AuthService, event};

/// A prefix collision (48 random bits) is astronomically rare; a few retries make it impossible.
const CREATE_ATTEMPTS: usize = 3;

impl AuthService {
    /// Creates a key for `user_id` and returns it with its secret, which is never retrievable again.
    pub async fn create_api_key(
        &self,
        user_id: UserId,
        name: &str,
        expires_at: Option<i64>,
    ) -> Result<(ApiKeyRecord, ApiKeySecret), Error> {
        let name = DisplayName::parse("name", name)?;
        let now = now_ms();
        if expires_at.is_some_and(|expires_at| expires_at <= now) {
            return Err(Error::InvalidField {
                field: "expires_at",
                reason: "must be in the future".to_owned(),
            });
        }
        if users::find_by_id(self.inner.database.pool(), &user_id.to_string())
            .await?
            .is_none()
        {
            return Err(Error::UserNotFound);
        }
        for _ in 0..CREATE_ATTEMPTS {
            let secret = ApiKeySecret::generate();
            let record = ApiKeyRecord {
                id: uuid::Uuid::now_v7().to_string(),
                user_id,
                name: name.as_str().to_owned(),
                prefix: secret.lookup_prefix().to_owned(),
                key_hash: secret.hash(),
                created_at: now,
                last_used_at: None,
                expires_at,
                revoked_at: None,
            };
            let created = event(
                names::AUTH_APIKEY_CREATED,
                &ApiKeyCreated {
                    user_id: user_id.to_string(),
                    key_id: record.id.clone(),
                    name: record.name.clone(),
                    prefix: record.prefix.clone(),
                },
            )?;
            let mut transaction = self.begin().await?;
            match api_keys::insert(&mut *transaction, &record).await {
                Ok(()) => {
                    self.commit_with_events(transaction, &[created]).await?;
                    tracing::info!(%user_id, key_id = %record.id, prefix = %record.prefix, "api key created");
                    return Ok((record, secret));
                }
                Err(error) if gpuproxy_db::is_unique_violation(&error) => continue,
                Err(error) => return Err(error.into()),
            }
        }
        Err(Error::Internal(anyhow::anyhow!(
            "could not find a free API key prefix"
        )))
    }

    /// Returns `user_id`'s keys, newest first, without their secrets.
    pub async fn list_api_keys(&self, user_id: UserId) -> Result<Vec<ApiKeyRecord>, Error> {
        Ok(api_keys::list_for_user(self.inner.database.pool(), user_id).await?)
    }

    /// Revokes `user_id`'s key `key_id` and publishes `auth.apikey.revoked`, so every gateway stops
    /// accepting it at once. Another user's key is not found; revoking twice is not an error.
    pub async fn revoke_api_key(&self, user_id: UserId, key_id: &str) -> Result<ApiKeyRecord, Error> {
        // Ids are UUIDs; anything else names no key and must not reach the database (a NUL byte in a
        // path segment is an error on PostgreSQL, not a miss).
        if uuid::Uuid::parse_str(key_id).is_err() {
            return Err(Error::ApiKeyNotFound);
        }
        let mut transaction = self.begin().await?;
        let revoked = api_keys::revoke(&mut *transaction, user_id, key_id, now_ms()).await?;
        let record = api_keys::find_owned(&mut *transaction, user_id, key_id)
            .await?
            .ok_or(Error::ApiKeyNotFound)?;
        let events = if revoked {
            vec![event(
                names::AUTH_APIKEY_REVOKED,
                &ApiKeyRevoked {
                    user_id: user_id.to_string(),
                    key_id: key_id.to_owned(),
                    prefix: record.prefix.clone(),
                },
            )?]
        } else {
            Vec::new()
        };
        self.commit_with_events(transaction, &events).await?;
        tracing::info!(%user_id, key_id, revoked, "api key revoked");
        Ok(record)
    }
}
