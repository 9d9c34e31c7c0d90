//! `/api/v1/auth/*`: registration, login, logout, API keys, and who am I.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use gpuproxy_domain::Credential;
use gpuproxy_errors::ErrorCode;
use gpuproxy_proto::gpuproxy::auth::v1 as proto;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::ErrorBody;
use crate::gatekeeper::Gatekeeper;
use crate::operations::Operations;
use crate::rest::envelope::{Envelope, ListEnvelope};
use crate::rest::json_body::JsonBody;
use crate::rest::principal::AuthUser;
use crate::rest::timestamps::rfc3339;
use crate::{AppState, Error};

/// Routes anyone may call (rate limited per client address).
pub fn anonymous_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(register))
        .routes(routes!(login))
}

/// Routes that need credentials.
pub fn authenticated_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(logout))
        .routes(routes!(create_api_key, list_api_keys))
        .routes(routes!(revoke_api_key))
        .routes(routes!(whoami))
}

/// A registration.
#[derive(Debug, Deserialize, ToSchema)]
pub struct RegisterRequest {
    /// Email address; case does not matter.
    #[schema(example = "user@example.com")]
    pub email: String,
    /// At least 8 characters (`PASSWORD_MIN_LENGTH`).
    #[schema(example = "secure-password")]
    pub password: String,
    /// Full name.
    #[schema(example = "John Doe")]
    pub name: String,
}

/// A user.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserDto {
    /// UUID.
    pub user_id: String,
    /// Normalised (lower-case) email.
    pub email: String,
    /// Full name.
    pub name: String,
    /// Whether admin routes are open to the user.
    pub is_admin: bool,
    /// RFC 3339.
    pub created_at: Option<String>,
}

impl From<proto::User> for UserDto {
    fn from(user: proto::User) -> Self {
        UserDto {
            created_at: rfc3339(user.created_at_ms),
            user_id: user.user_id,
            email: user.email,
            name: user.name,
            is_admin: user.is_admin,
        }
    }
}

/// Creates an account.
#[utoipa::path(post, path = "/register", tag = "auth", request_body = RegisterRequest,
    responses(
        (status = 201, description = "Registered", body = Envelope<UserDto>),
        (status = 400, description = "Invalid email (INVALID_EMAIL), short password (WEAK_PASSWORD), missing field (VALIDATION_FAILED) or bad JSON (MALFORMED_REQUEST)", body = ErrorBody),
        (status = 409, description = "Email already registered (EMAIL_TAKEN)", body = ErrorBody),
        (status = 429, description = "Too many attempts from this address (RATE_LIMITED)", body = ErrorBody),
    ))]
async fn register(
    State(operations): State<Operations>,
    JsonBody(body): JsonBody<RegisterRequest>,
) -> Result<(StatusCode, Json<Envelope<UserDto>>), Error> {
    let request = proto::RegisterRequest {
        email: body.email,
        password: body.password,
        name: body.name,
    };
    let user = operations.auth.clone().register(request).await?.into_inner();
    Ok((StatusCode::CREATED, Json(Envelope::new(user.into()))))
}

/// Email and password.
#[derive(Debug, Deserialize, ToSchema)]
pub struct LoginRequest {
    /// Email address.
    #[schema(example = "user@example.com")]
    pub email: String,
    /// Password.
    #[schema(example = "secure-password")]
    pub password: String,
}

/// A login: the token to send as `Authorization: Bearer <token>`.
#[derive(Debug, Serialize, ToSchema)]
pub struct LoginDto {
    /// The JWT.
    pub token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// RFC 3339.
    pub expires_at: Option<String>,
    /// The user's id.
    pub user_id: String,
    /// The user's email.
    pub email: String,
    /// Whether admin routes are open to the user.
    pub is_admin: bool,
}

/// Exchanges email and password for a JWT. An unknown email and a wrong password are the same 401.
#[utoipa::path(post, path = "/login", tag = "auth", request_body = LoginRequest,
    responses(
        (status = 200, description = "Logged in", body = Envelope<LoginDto>),
        (status = 400, description = "Invalid request", body = ErrorBody),
        (status = 401, description = "Wrong email or password (INVALID_CREDENTIALS)", body = ErrorBody),
        (status = 429, description = "Too many attempts from this address (RATE_LIMITED)", body = ErrorBody),
    ))]
async fn login(
    State(operations): State<Operations>,
    State(gatekeeper): State<Gatekeeper>,
    extensions: http::Extensions,
    headers: HeaderMap,
    JsonBody(body): JsonBody<LoginRequest>,
) -> Result<Json<Envelope<LoginDto>>, Error> {
    let client_ip = gatekeeper.client_address(&headers, &extensions);
    let request = proto::LoginRequest {
        email: body.email,
        password: body.password,
        client_ip: client_ip.map(|address| address.to_string()).unwrap_or_default(),
        user_agent: headers
            .get(http::header::USER_AGENT)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_owned(),
    };
    let login = operations.auth.clone().login(request).await?.into_inner();
    let user = login.user.unwrap_or_default();
    Ok(Json(Envelope::new(LoginDto {
        token: login.token,
        token_type: "Bearer",
        expires_at: rfc3339(login.expires_at_ms),
        user_id: user.user_id,
        email: user.email,
        is_admin: user.is_admin,
    })))
}

/// The end of a session.
#[derive(Debug, Serialize, ToSchema)]
pub struct LogoutDto {
    /// The session that ended.
    pub session_id: String,
    /// Always true.
    pub logged_out: bool,
}

/// Ends the session of the bearer token: the token stops working on every gateway at once.
#[utoipa::path(post, path = "/logout", tag = "auth", security(("bearer" = [])),
    responses(
        (status = 200, description = "Logged out", body = Envelope<LogoutDto>),
        (status = 400, description = "Authenticated with an API key, which has no session (VALIDATION_FAILED)", body = ErrorBody),
        (status = 401, description = "Missing or invalid token", body = ErrorBody),
    ))]
async fn logout(
    State(operations): State<Operations>,
    State(gatekeeper): State<Gatekeeper>,
    AuthUser(principal): AuthUser,
) -> Result<Json<Envelope<LogoutDto>>, Error> {
    let Credential::Session(session_id) = &principal.credential else {
        return Err(Error::new(
            ErrorCode::ValidationFailed,
            "logout ends a login session; to stop an API key, revoke it with DELETE /api/v1/auth/apikey/{id}",
        ));
    };
    let request = proto::LogoutRequest {
        session_id: session_id.clone(),
        user_id: principal.user_id.to_string(),
    };
    operations.auth.clone().logout(request).await?;
    gatekeeper.authenticator.invalidate_credential(session_id);
    Ok(Json(Envelope::new(LogoutDto {
        session_id: session_id.clone(),
        logged_out: true,
    })))
}

/// A new API key's name and, optionally, lifetime.
#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateApiKeyRequest {
    /// A label to recognise the key by.
    #[schema(example = "My API Key")]
    pub name: String,
    /// Days until the key stops working; without it, the key works until revoked.
    #[serde(default)]
    #[schema(example = 90)]
    pub expires_in_days: Option<u32>,
}

/// A new API key. `api_key` is shown this once and never again.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedApiKeyDto {
    /// The key's id, for revocation.
    pub id: String,
    /// The key: send it as `X-API-Key`.
    pub api_key: String,
    /// The label.
    pub name: String,
    /// The first characters, shown in listings.
    pub prefix: String,
    /// RFC 3339.
    pub created_at: Option<String>,
    /// RFC 3339, when the key expires.
    pub expires_at: Option<String>,
}

/// Creates an API key for the caller.
#[utoipa::path(post, path = "/apikey", tag = "auth", request_body = CreateApiKeyRequest,
    security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 201, description = "Created; the key is in `api_key`, shown once", body = Envelope<CreatedApiKeyDto>),
        (status = 400, description = "Invalid request", body = ErrorBody),
        (status = 401, description = "Missing or invalid credentials", body = ErrorBody),
    ))]
async fn create_api_key(
    State(operations): State<Operations>,
    AuthUser(principal): AuthUser,
    JsonBody(body): JsonBody<CreateApiKeyRequest>,
) -> Result<(StatusCode, Json<Envelope<CreatedApiKeyDto>>), Error> {
    let expires_at_ms = match body.expires_in_days {
        None => 0,
        Some(0) => {
            return Err(
                Error::new(ErrorCode::ValidationFailed, "expires_in_days must be at least 1")
                    .with_field("expires_in_days"),
            );
        }
        Some(days) => gpuproxy_domain::now_ms() + i64::from(days) * 86_400_000,
    };
    let request = proto::CreateApiKeyRequest {
        user_id: principal.user_id.to_string(),
        name: body.name,
        expires_at_ms,
    };
    let created = operations
        .auth
        .clone()
        .create_api_key(request)
        .await?
        .into_inner();
    let key = created.key.unwrap_or_default();
    Ok((
        StatusCode::CREATED,
        Json(Envelope::new(CreatedApiKeyDto {
            id: key.key_id,
            api_key: created.secret,
            name: key.name,
            prefix: key.prefix,
            created_at: rfc3339(key.created_at_ms),
            expires_at: rfc3339(key.expires_at_ms),
        })),
    ))
}

/// An API key, without its secret.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKeyDto {
    /// The key's id.
    pub id: String,
    /// The label.
    pub name: String,
    /// The first characters of the key.
    pub prefix: String,
    /// RFC 3339.
    pub created_at: Option<String>,
    /// RFC 3339, to the minute.
    pub last_used_at: Option<String>,
    /// RFC 3339.
    pub expires_at: Option<String>,
    /// RFC 3339, once revoked.
    pub revoked_at: Option<String>,
}

impl From<proto::ApiKey> for ApiKeyDto {
    fn from(key: proto::ApiKey) -> Self {
        ApiKeyDto {
            created_at: rfc3339(key.created_at_ms),
            last_used_at: rfc3339(key.last_used_at_ms),
            expires_at: rfc3339(key.expires_at_ms),
            revoked_at: rfc3339(key.revoked_at_ms),
            id: key.key_id,
            name: key.name,
            prefix: key.prefix,
        }
    }
}

/// Lists the caller's API keys, newest first, without secrets.
#[utoipa::path(get, path = "/apikey", tag = "auth", security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 200, description = "The caller's keys", body = ListEnvelope<ApiKeyDto>),
        (status = 401, description = "Missing or invalid credentials", body = ErrorBody),
    ))]
async fn list_api_keys(
    State(operations): State<Operations>,
    AuthUser(principal): AuthUser,
) -> Result<Json<ListEnvelope<ApiKeyDto>>, Error> {
    let request = proto::ListApiKeysRequest {
        user_id: principal.user_id.to_string(),
    };
    let keys = operations
        .auth
        .clone()
        .list_api_keys(request)
        .await?
        .into_inner()
        .keys;
    Ok(Json(ListEnvelope::new(
        keys.into_iter().map(ApiKeyDto::from).collect(),
    )))
}

/// Revokes one of the caller's API keys: it stops working on every gateway within a second.
#[utoipa::path(delete, path = "/apikey/{id}", tag = "auth", security(("bearer" = []), ("api_key" = [])),
    params(("id" = String, Path, description = "The key's id")),
    responses(
        (status = 200, description = "Revoked (revoking twice is not an error)", body = Envelope<ApiKeyDto>),
        (status = 401, description = "Missing or invalid credentials", body = ErrorBody),
        (status = 404, description = "No such key among the caller's (NOT_FOUND)", body = ErrorBody),
    ))]
async fn revoke_api_key(
    State(operations): State<Operations>,
    State(gatekeeper): State<Gatekeeper>,
    AuthUser(principal): AuthUser,
    Path(key_id): Path<String>,
) -> Result<Json<Envelope<ApiKeyDto>>, Error> {
    let request = proto::RevokeApiKeyRequest {
        user_id: principal.user_id.to_string(),
        key_id: key_id.clone(),
    };
    let key = operations
        .auth
        .clone()
        .revoke_api_key(request)
        .await?
        .into_inner();
    gatekeeper.authenticator.invalidate_credential(&key_id);
    Ok(Json(Envelope::new(ApiKeyDto::from(key))))
}

/// The caller, as the gateway authenticated them.
#[derive(Debug, Serialize, ToSchema)]
pub struct WhoAmIDto {
    /// The user's id.
    pub user_id: String,
    /// The user's email.
    pub email: String,
    /// Whether admin routes are open to the user.
    pub is_admin: bool,
    /// `jwt` or `api_key`.
    pub auth_method: &'static str,
    /// The session or key id.
    pub credential_id: String,
    /// RFC 3339, when the credential expires.
    pub expires_at: Option<String>,
}

/// Returns who the credentials belong to.
#[utoipa::path(get, path = "/me", tag = "auth", security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 200, description = "The caller", body = Envelope<WhoAmIDto>),
        (status = 401, description = "Missing or invalid credentials", body = ErrorBody),
    ))]
async fn whoami(AuthUser(principal): AuthUser) -> Json<Envelope<WhoAmIDto>> {
    let auth_method = match principal.credential {
        Credential::Session(_) => "jwt",
        Credential::ApiKey(_) => "api_key",
    };
    Json(Envelope::new(WhoAmIDto {
        user_id: principal.user_id.to_string(),
        email: principal.email.to_string(),
        is_admin: principal.is_admin,
        auth_method,
        credential_id: principal.credential_id().to_owned(),
        expires_at: principal.expires_at_ms.and_then(rfc3339),
    }))
}
