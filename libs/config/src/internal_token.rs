//! The fleet's internal token (`INTERNAL_API_TOKEN`).

use secrecy::{ExposeSecret, SecretString};

use crate::Reader;

/// The shortest token accepted: 256 bits.
pub const MIN_INTERNAL_TOKEN_BYTES: usize = 32;

/// Reads `INTERNAL_API_TOKEN`, the secret every service of a fleet sends and checks on internal
/// gRPC calls. Services that call and services that are called read the same variable.
pub fn read_internal_token(reader: &mut Reader<'_>) -> Option<SecretString> {
    let token = reader.secret("INTERNAL_API_TOKEN")?;
    let text = token.expose_secret();
    if text.len() < MIN_INTERNAL_TOKEN_BYTES || !text.bytes().all(|byte| byte.is_ascii_graphic()) {
        reader.invalid(
            "INTERNAL_API_TOKEN",
            None,
            format!(
                "must be at least {MIN_INTERNAL_TOKEN_BYTES} printable characters; generate one with: openssl rand -base64 48"
            ),
        );
    }
    Some(token)
}
