//! `/api/v1/admin/*`: routes for admins.

use axum::Json;
use axum::extract::State;
use gpuproxy_proto::gpuproxy::auth::v1 as proto;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::ErrorBody;
use crate::operations::Operations;
use crate::rest::auth::UserDto;
use crate::rest::envelope::ListEnvelope;
use crate::rest::principal::AdminUser;
use crate::rest::query_params::QueryParams;
use crate::{AppState, Error};

/// Admin routes; the handlers check the role.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_users))
}

/// A page.
#[derive(Debug, Deserialize, IntoParams)]
pub struct Page {
    /// At most this many (1–500, default 100).
    #[param(example = 100)]
    pub limit: Option<u32>,
    /// Skip this many.
    #[param(example = 0)]
    pub offset: Option<u32>,
}

/// Lists users, oldest first.
#[utoipa::path(get, path = "/users", tag = "admin", params(Page), security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 200, description = "A page of users", body = ListEnvelope<UserDto>),
        (status = 401, description = "Missing or invalid credentials", body = ErrorBody),
        (status = 403, description = "Not an admin (FORBIDDEN)", body = ErrorBody),
    ))]
async fn list_users(
    State(operations): State<Operations>,
    AdminUser(admin): AdminUser,
    QueryParams(page): QueryParams<Page>,
) -> Result<Json<ListEnvelope<UserDto>>, Error> {
    tracing::info!(admin = %admin.user_id, "admin lists users");
    let request = proto::ListUsersRequest {
        limit: i32::try_from(page.limit.unwrap_or(100).clamp(1, 500)).unwrap_or(100),
        offset: i32::try_from(page.offset.unwrap_or(0)).unwrap_or(i32::MAX),
    };
    let users = operations
        .auth
        .clone()
        .list_users(request)
        .await?
        .into_inner()
        .users;
    Ok(Json(ListEnvelope::new(
        users.into_iter().map(UserDto::from).collect(),
    )))
}
