//! Looking users up, listing them, changing roles, and counts for operators.

use gpuproxy_domain::{Email, now_ms};
use gpuproxy_events::names;
use gpuproxy_proto::gpuproxy::events::v1::UserUpdated;

use crate::Error;
use crate::register::Registration;
use crate::repo::users::{self, UserRecord};
use crate::repo::{api_keys, sessions};
use crate::service::{AuthService, event};

/// Counts for `aiserve-gpuproxy-admin stats`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuthStats {
    /// Registered users.
    pub users: i64,
    /// Users with the admin role.
    pub admins: i64,
    /// Keys that still work (unless expired).
    pub active_api_keys: i64,
    /// Revoked keys.
    pub revoked_api_keys: i64,
    /// Sessions neither ended nor expired (SQL-stored sessions only).
    pub active_sessions: i64,
}

/// The largest page [`AuthService::list_users`] returns.
pub const MAX_PAGE: i64 = 500;

impl AuthService {
    /// Returns the user with id `user_id`.
    pub async fn user_by_id(&self, user_id: &str) -> Result<UserRecord, Error> {
        users::find_by_id(self.inner.database.pool(), user_id)
            .await?
            .ok_or(Error::UserNotFound)
    }

    /// Returns the user with `email`.
    pub async fn user_by_email(&self, email: &str) -> Result<UserRecord, Error> {
        let email = Email::parse(email)?;
        users::find_by_email(self.inner.database.pool(), email.as_str())
            .await?
            .ok_or(Error::UserNotFound)
    }

    /// Returns a page of users (oldest first) and the total count.
    pub async fn list_users(&self, limit: i64, offset: i64) -> Result<(Vec<UserRecord>, i64), Error> {
        let pool = self.inner.database.pool();
        let page = users::list(pool, limit.clamp(1, MAX_PAGE), offset.max(0)).await?;
        let (total, _) = users::counts(pool).await?;
        Ok((page, total))
    }

    /// Grants or withdraws the admin role and publishes `auth.user.updated`, so cached principals of
    /// the user are dropped everywhere.
    pub async fn set_admin(&self, email: &str, is_admin: bool) -> Result<UserRecord, Error> {
        let email = Email::parse(email)?;
        let mut transaction = self.begin().await?;
        if !users::set_admin(&mut *transaction, email.as_str(), is_admin, now_ms()).await? {
            return Err(Error::UserNotFound);
        }
        let user = users::find_by_email(&mut *transaction, email.as_str())
            .await?
            .ok_or(Error::UserNotFound)?;
        let updated = event(
            names::AUTH_USER_UPDATED,
            &UserUpdated {
                user_id: user.id.to_string(),
                is_admin,
            },
        )?;
        self.commit_with_events(transaction, &[updated]).await?;
        tracing::info!(user_id = %user.id, is_admin, "role changed");
        Ok(user)
    }

    /// Makes sure `email` exists and is an admin: registers it with `password` when missing, grants
    /// the role when not yet an admin. Returns the user and whether it was created.
    pub async fn ensure_admin(&self, email: &str, password: &str) -> Result<(UserRecord, bool), Error> {
        match self.user_by_email(email).await {
            Ok(user) if user.is_admin() => Ok((user, false)),
            Ok(user) => Ok((self.set_admin(&user.email, true).await?, false)),
            Err(Error::UserNotFound) => {
                let registration = Registration {
                    email,
                    password,
                    name: "Administrator",
                    is_admin: true,
                };
                Ok((self.register(registration).await?, true))
            }
            Err(error) => Err(error),
        }
    }

    /// Returns counts of users, keys and sessions.
    pub async fn stats(&self) -> Result<AuthStats, Error> {
        let pool = self.inner.database.pool();
        let (users, admins) = users::counts(pool).await?;
        let (active_api_keys, revoked_api_keys) = api_keys::counts(pool).await?;
        let active_sessions = sessions::count_active(pool, now_ms()).await?;
        Ok(AuthStats {
            users,
            admins,
            active_api_keys,
            revoked_api_keys,
            active_sessions,
        })
    }

    /// Deletes sessions that expired more than a day ago; returns how many.
    pub async fn delete_expired_sessions(&self) -> Result<u64, Error> {
        let day_ago = now_ms() - 24 * 3600 * 1000;
        Ok(sessions::delete_expired(self.inner.database.pool(), day_ago).await?)
    }
}
