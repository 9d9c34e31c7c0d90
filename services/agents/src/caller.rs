//! Who an action runs as.

use gpuproxy_domain::UserId;

/// The authenticated user an action runs as, as the gateway resolved them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caller {
    /// Whose instances, money and limits the action touches.
    pub user_id: UserId,
    /// Whether the user is an admin.
    pub admin: bool,
}
