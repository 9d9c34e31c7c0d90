//! Finding the user an admin route is about, by id or email.

use gpuproxy_errors::ErrorCode;
use gpuproxy_proto::gpuproxy::auth::v1 as auth;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use crate::Error;
use crate::operations::Operations;

/// Whose: `user_id` or `email` (the id wins when both are sent).
#[derive(Debug, Default, Clone, Deserialize, IntoParams, ToSchema)]
pub struct UserSelector {
    /// The user's id.
    pub user_id: Option<String>,
    /// The user's email.
    #[param(example = "a@b.c")]
    #[schema(example = "a@b.c")]
    pub email: Option<String>,
}

/// Returns the selected user, 404 `NOT_FOUND` when there is none. Without a selector, `fallback`
/// (the caller's own id) is used when given, else 400 `VALIDATION_FAILED`.
pub async fn find_user(
    operations: &Operations,
    selector: UserSelector,
    fallback: Option<String>,
) -> Result<auth::User, Error> {
    let chosen = match (selector.user_id, selector.email, fallback) {
        (Some(user_id), _, _) => auth::get_user_request::Selector::UserId(user_id),
        (None, Some(email), _) => auth::get_user_request::Selector::Email(email),
        (None, None, Some(own)) => auth::get_user_request::Selector::UserId(own),
        (None, None, None) => {
            return Err(Error::new(ErrorCode::ValidationFailed, "send email or user_id").with_field("email"));
        }
    };
    operations
        .call(operations.auth.clone().get_user(auth::GetUserRequest {
            selector: Some(chosen),
        }))
        .await
}
