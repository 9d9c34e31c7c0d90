//! Logging in and out.

use gpuproxy_domain::{Email, UserId, now_ms};
use gpuproxy_events::names;
use gpuproxy_proto::gpuproxy::events::v1::SessionRevoked;

use crate::Error;
use crate::repo::sessions::SessionRecord;
use crate::repo::users::{self, UserRecord};
use crate::service::{AuthService, event};

/// Where a login comes from, kept with the session for the user's own audit.
#[derive(Debug, Clone, Default)]
pub struct ClientInfo {
    /// The caller's IP address, as the gateway saw it.
    pub ip: String,
    /// The caller's user agent.
    pub user_agent: String,
}

/// A successful login.
#[derive(Debug, Clone)]
pub struct LoginOutcome {
    /// The signed JWT.
    pub token: String,
    /// Unix ms.
    pub expires_at: i64,
    /// The session the token belongs to.
    pub session_id: String,
    /// The user.
    pub user: UserRecord,
}

impl AuthService {
    /// Checks the password and opens a session. An unknown email and a wrong password fail the same
    /// way, in the same time.
    pub async fn login(
        &self,
        email: &str,
        password: &str,
        client: ClientInfo,
    ) -> Result<LoginOutcome, Error> {
        let email = Email::parse(email)?;
        let user = users::find_by_email(self.inner.database.pool(), email.as_str()).await?;
        let stored_hash = user.as_ref().map(|user| user.password_hash.clone());
        let matches = self.inner.passwords.verify(password, stored_hash).await?;
        let user = match user {
            Some(user) if matches => user,
            _ => {
                tracing::info!(email = %email, "login failed");
                return Err(Error::InvalidCredentials);
            }
        };

        let now = now_ms();
        let session_id = uuid::Uuid::now_v7().to_string();
        let (token, claims) = self.inner.tokens.issue(user.id, &session_id, now / 1000)?;
        let session = SessionRecord {
            id: session_id.clone(),
            user_id: user.id,
            created_at: now,
            expires_at: claims.exp.saturating_mul(1000),
            revoked_at: None,
            client_ip: client.ip,
            user_agent: client.user_agent.chars().take(512).collect(),
        };
        let mut transaction = self.begin().await?;
        self.inner.sessions.create(&mut transaction, &session).await?;
        transaction.commit().await?;
        self.inner.sessions.publish(&session).await?;
        tracing::info!(user_id = %user.id, session_id = %session_id, "logged in");
        Ok(LoginOutcome {
            token,
            expires_at: session.expires_at,
            session_id,
            user,
        })
    }

    /// Ends `user_id`'s session `session_id` and publishes `auth.session.revoked`, so every gateway
    /// drops the token at once. Ending an ended session is not an error.
    pub async fn logout(&self, session_id: &str, user_id: UserId) -> Result<(), Error> {
        let mut transaction = self.begin().await?;
        let revoked = self
            .inner
            .sessions
            .revoke(&mut transaction, session_id, user_id)
            .await?;
        let events = if revoked {
            vec![event(
                names::AUTH_SESSION_REVOKED,
                &SessionRevoked {
                    user_id: user_id.to_string(),
                    session_id: session_id.to_owned(),
                },
            )?]
        } else {
            Vec::new()
        };
        self.commit_with_events(transaction, &events).await?;
        self.inner.sessions.bury(session_id).await?;
        tracing::info!(%user_id, session_id, revoked, "logged out");
        Ok(())
    }
}
