//! The auth service's value types; each refuses invalid input in its constructor.

mod api_key_secret;
mod display_name;
mod password;

pub use api_key_secret::ApiKeySecret;
pub use display_name::DisplayName;
pub use password::Password;
