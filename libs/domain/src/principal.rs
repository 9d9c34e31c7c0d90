//! Who is making a request.

use crate::{Email, UserId};

/// The credential a request was authenticated with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    /// A JWT; the id is its session's, which logout ends.
    Session(String),
    /// An API key; the id is the key's, which revocation names.
    ApiKey(String),
}

/// The authenticated user behind a request, as the auth service resolved it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The user.
    pub user_id: UserId,
    /// The user's email at the time of authentication.
    pub email: Email,
    /// Whether admin routes are open to this user.
    pub is_admin: bool,
    /// What the request presented.
    pub credential: Credential,
    /// Unix milliseconds after which the credential is no longer valid; `None` = no expiry.
    pub expires_at_ms: Option<i64>,
}

impl Principal {
    /// Returns the id of the credential (session or key), which revocation events name.
    pub fn credential_id(&self) -> &str {
        match &self.credential {
            Credential::Session(id) | Credential::ApiKey(id) => id,
        }
    }
}
