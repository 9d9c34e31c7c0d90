//! Registering a user.

use gpuproxy_domain::{Email, UserId, now_ms};
use gpuproxy_events::names;
use gpuproxy_proto::gpuproxy::events::v1::UserCreated;

use crate::Error;
use crate::domain::{DisplayName, Password};
use crate::repo::users::{self, UserRecord};
use crate::service::{AuthService, event};

/// What a registration asks for, as received.
#[derive(Debug, Clone)]
pub struct Registration<'a> {
    /// Email address.
    pub email: &'a str,
    /// Password, in clear (hashed before storage).
    pub password: &'a str,
    /// Full name.
    pub name: &'a str,
    /// Whether the new user is an admin (only operators' tools set this).
    pub is_admin: bool,
}

impl AuthService {
    /// Creates a user and publishes `auth.user.created`. The email must be free.
    pub async fn register(&self, registration: Registration<'_>) -> Result<UserRecord, Error> {
        let email = Email::parse(registration.email)?;
        let password = Password::parse(registration.password, self.inner.password_min_length)?;
        let name = DisplayName::parse("name", registration.name)?;
        let password_hash = self.inner.passwords.hash(password).await?;
        let user = UserRecord {
            id: UserId::generate(),
            email: email.as_str().to_owned(),
            name: name.as_str().to_owned(),
            password_hash,
            is_admin: i64::from(registration.is_admin),
            created_at: now_ms(),
        };
        let created = event(
            names::AUTH_USER_CREATED,
            &UserCreated {
                user_id: user.id.to_string(),
                email: user.email.clone(),
                name: user.name.clone(),
            },
        )?;
        let mut transaction = self.begin().await?;
        if let Err(error) = users::insert(&mut *transaction, &user).await {
            return Err(if gpuproxy_db::is_unique_violation(&error) {
                Error::EmailTaken
            } else {
                error.into()
            });
        }
        self.commit_with_events(transaction, &[created]).await?;
        tracing::info!(user_id = %user.id, "user registered");
        Ok(user)
    }
}
