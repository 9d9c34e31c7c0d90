//! Extractors for the authenticated principal.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use gpuproxy_domain::Principal;
use gpuproxy_errors::ErrorCode;
use http::Extensions;
use http::request::Parts;

use crate::Error;

/// The principal the authentication middleware put on the request.
#[derive(Debug, Clone)]
pub struct AuthUser(pub Arc<Principal>);

/// Like [`AuthUser`], for routes only admins may use: 403 otherwise.
#[derive(Debug, Clone)]
pub struct AdminUser(pub Arc<Principal>);

/// `UNAUTHENTICATED`: the request carries no credentials.
pub fn missing_credentials() -> Error {
    Error::new(
        ErrorCode::Unauthenticated,
        "send X-API-Key or Authorization: Bearer <token>",
    )
}

impl AuthUser {
    /// The principal the authentication middleware put in `extensions`.
    pub fn of(extensions: &Extensions) -> Result<Self, Error> {
        extensions
            .get::<Arc<Principal>>()
            .cloned()
            .map(AuthUser)
            .ok_or_else(missing_credentials)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for AuthUser {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        AuthUser::of(&parts.extensions)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for AdminUser {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let AuthUser(principal) = AuthUser::from_request_parts(parts, state).await?;
        if !principal.is_admin {
            return Err(Error::new(ErrorCode::Forbidden, "this route is for admins"));
        }
        Ok(AdminUser(principal))
    }
}
