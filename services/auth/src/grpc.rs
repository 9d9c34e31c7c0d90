//! The internal gRPC API: converts messages to use-case calls and back.

use gpuproxy_domain::{Credential, Principal, UserId};
use gpuproxy_proto::gpuproxy::auth::v1 as proto;
use gpuproxy_proto::gpuproxy::auth::v1::auth_service_server::AuthService as AuthApi;
use tonic::{Request, Response, Status};

use crate::Error;
use crate::login::ClientInfo;
use crate::register::Registration;
use crate::repo::api_keys::ApiKeyRecord;
use crate::repo::users::UserRecord;
use crate::service::AuthService;
use crate::users::MAX_PAGE;

/// The gRPC face of [`AuthService`].
#[derive(Debug, Clone)]
pub struct GrpcAuth {
    service: AuthService,
}

impl GrpcAuth {
    /// Wraps `service`.
    pub fn new(service: AuthService) -> Self {
        GrpcAuth { service }
    }
}

fn user(text: &str) -> Result<UserId, Error> {
    Ok(text.parse()?)
}

#[tonic::async_trait]
impl AuthApi for GrpcAuth {
    async fn register(
        &self,
        request: Request<proto::RegisterRequest>,
    ) -> Result<Response<proto::User>, Status> {
        let request = request.into_inner();
        let registration = Registration {
            email: &request.email,
            password: &request.password,
            name: &request.name,
            is_admin: false,
        };
        let user = self.service.register(registration).await?;
        Ok(Response::new(user_message(&user)))
    }

    async fn login(
        &self,
        request: Request<proto::LoginRequest>,
    ) -> Result<Response<proto::LoginResponse>, Status> {
        let request = request.into_inner();
        let client = ClientInfo {
            ip: request.client_ip,
            user_agent: request.user_agent,
        };
        let outcome = self
            .service
            .login(&request.email, &request.password, client)
            .await?;
        Ok(Response::new(proto::LoginResponse {
            token: outcome.token,
            expires_at_ms: outcome.expires_at,
            session_id: outcome.session_id,
            user: Some(user_message(&outcome.user)),
        }))
    }

    async fn logout(
        &self,
        request: Request<proto::LogoutRequest>,
    ) -> Result<Response<proto::LogoutResponse>, Status> {
        let request = request.into_inner();
        self.service
            .logout(&request.session_id, user(&request.user_id)?)
            .await?;
        Ok(Response::new(proto::LogoutResponse {}))
    }

    async fn authenticate(
        &self,
        request: Request<proto::AuthenticateRequest>,
    ) -> Result<Response<proto::Principal>, Status> {
        use proto::authenticate_request::Credential as Sent;
        let principal = match request.into_inner().credential {
            Some(Sent::BearerToken(token)) => self.service.authenticate_token(&token).await?,
            Some(Sent::ApiKey(key)) => self.service.authenticate_api_key(&key).await?,
            None => return Err(missing("credential")),
        };
        Ok(Response::new(principal_message(&principal)))
    }

    async fn create_api_key(
        &self,
        request: Request<proto::CreateApiKeyRequest>,
    ) -> Result<Response<proto::CreateApiKeyResponse>, Status> {
        let request = request.into_inner();
        let expires_at = (request.expires_at_ms != 0).then_some(request.expires_at_ms);
        let (record, secret) = self
            .service
            .create_api_key(user(&request.user_id)?, &request.name, expires_at)
            .await?;
        Ok(Response::new(proto::CreateApiKeyResponse {
            key: Some(api_key_message(&record)),
            secret: secret.expose().to_owned(),
        }))
    }

    async fn list_api_keys(
        &self,
        request: Request<proto::ListApiKeysRequest>,
    ) -> Result<Response<proto::ListApiKeysResponse>, Status> {
        let keys = self
            .service
            .list_api_keys(user(&request.get_ref().user_id)?)
            .await?;
        Ok(Response::new(proto::ListApiKeysResponse {
            keys: keys.iter().map(api_key_message).collect(),
        }))
    }

    async fn revoke_api_key(
        &self,
        request: Request<proto::RevokeApiKeyRequest>,
    ) -> Result<Response<proto::ApiKey>, Status> {
        let request = request.into_inner();
        let record = self
            .service
            .revoke_api_key(user(&request.user_id)?, &request.key_id)
            .await?;
        Ok(Response::new(api_key_message(&record)))
    }

    async fn get_user(
        &self,
        request: Request<proto::GetUserRequest>,
    ) -> Result<Response<proto::User>, Status> {
        use proto::get_user_request::Selector;
        let user = match request.into_inner().selector {
            Some(Selector::UserId(user_id)) => self.service.user_by_id(&user_id).await?,
            Some(Selector::Email(email)) => self.service.user_by_email(&email).await?,
            None => return Err(missing("selector")),
        };
        Ok(Response::new(user_message(&user)))
    }

    async fn list_users(
        &self,
        request: Request<proto::ListUsersRequest>,
    ) -> Result<Response<proto::ListUsersResponse>, Status> {
        let request = request.into_inner();
        let limit = if request.limit <= 0 {
            MAX_PAGE
        } else {
            i64::from(request.limit)
        };
        let (users, total_count) = self.service.list_users(limit, i64::from(request.offset)).await?;
        Ok(Response::new(proto::ListUsersResponse {
            users: users.iter().map(user_message).collect(),
            total_count,
        }))
    }

    async fn set_admin(
        &self,
        request: Request<proto::SetAdminRequest>,
    ) -> Result<Response<proto::User>, Status> {
        let request = request.into_inner();
        let user = self.service.set_admin(&request.email, request.is_admin).await?;
        Ok(Response::new(user_message(&user)))
    }

    async fn get_stats(
        &self,
        _request: Request<proto::GetStatsRequest>,
    ) -> Result<Response<proto::Stats>, Status> {
        let stats = self.service.stats().await?;
        Ok(Response::new(proto::Stats {
            users: stats.users,
            admins: stats.admins,
            active_api_keys: stats.active_api_keys,
            revoked_api_keys: stats.revoked_api_keys,
            active_sessions: stats.active_sessions,
        }))
    }
}

fn missing(field: &'static str) -> Status {
    Status::from(Error::InvalidField {
        field,
        reason: "is required".to_owned(),
    })
}

/// Returns the message for a user; never includes the password hash.
pub fn user_message(user: &UserRecord) -> proto::User {
    proto::User {
        user_id: user.id.to_string(),
        email: user.email.clone(),
        name: user.name.clone(),
        is_admin: user.is_admin(),
        created_at_ms: user.created_at,
    }
}

/// Returns the message for a key; never includes its hash.
pub fn api_key_message(key: &ApiKeyRecord) -> proto::ApiKey {
    proto::ApiKey {
        key_id: key.id.clone(),
        user_id: key.user_id.to_string(),
        name: key.name.clone(),
        prefix: key.prefix.clone(),
        created_at_ms: key.created_at,
        last_used_at_ms: key.last_used_at.unwrap_or(0),
        expires_at_ms: key.expires_at.unwrap_or(0),
        revoked_at_ms: key.revoked_at.unwrap_or(0),
    }
}

fn principal_message(principal: &Principal) -> proto::Principal {
    let kind = match principal.credential {
        Credential::Session(_) => proto::CredentialKind::Session,
        Credential::ApiKey(_) => proto::CredentialKind::ApiKey,
    };
    proto::Principal {
        user_id: principal.user_id.to_string(),
        email: principal.email.to_string(),
        is_admin: principal.is_admin,
        kind: kind.into(),
        credential_id: principal.credential_id().to_owned(),
        expires_at_ms: principal.expires_at_ms.unwrap_or(0),
    }
}
