//! The API key itself.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

/// Every key starts with this, so leaked keys are easy to recognise (and to scan for).
const SCHEME: &str = "gpx_";
/// 256 bits of randomness.
const RANDOM_BYTES: usize = 32;
/// Base64url of 32 bytes, unpadded.
const ENCODED_LEN: usize = 43;
/// The scheme and 8 random characters (48 bits): unique enough to index, useless to guess the rest.
const PREFIX_LEN: usize = SCHEME.len() + 8;

/// An API key: `gpx_` and 43 base64url characters of 32 random bytes. Only its SHA-256 is stored; the
/// key is shown once, at creation. A fast hash is right here (unlike for passwords): the key has 256
/// bits of entropy, so no dictionary helps, and a per-request bcrypt would cost ~100 ms a call.
pub struct ApiKeySecret(String);

impl std::fmt::Debug for ApiKeySecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ApiKeySecret({}…)", self.lookup_prefix())
    }
}

impl ApiKeySecret {
    /// Returns a new random key.
    pub fn generate() -> Self {
        let mut bytes = [0u8; RANDOM_BYTES];
        rand::fill(&mut bytes);
        ApiKeySecret(format!("{SCHEME}{}", URL_SAFE_NO_PAD.encode(bytes)))
    }

    /// Returns the key if `text` has the shape of one of ours; `None` otherwise.
    pub fn parse(text: &str) -> Option<Self> {
        let encoded = text.strip_prefix(SCHEME)?;
        let well_formed = encoded.len() == ENCODED_LEN
            && encoded
                .bytes()
                .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_');
        well_formed.then(|| ApiKeySecret(text.to_owned()))
    }

    /// Returns the stored, indexed beginning of the key.
    pub fn lookup_prefix(&self) -> &str {
        self.0.get(..PREFIX_LEN).unwrap_or(&self.0)
    }

    /// Returns the hex SHA-256 of the whole key, as stored.
    pub fn hash(&self) -> String {
        hex::encode(Sha256::digest(self.0.as_bytes()))
    }

    /// Returns the key, to show it to its owner once.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_parse_back_and_differ() {
        let first = ApiKeySecret::generate();
        let second = ApiKeySecret::generate();
        assert_eq!(first.expose().len(), 47);
        assert!(ApiKeySecret::parse(first.expose()).is_some());
        assert_ne!(first.expose(), second.expose());
    }

    #[test]
    fn the_prefix_is_the_scheme_and_eight_characters() {
        let key = ApiKeySecret::generate();
        assert_eq!(key.lookup_prefix().len(), 12);
        assert!(key.expose().starts_with(key.lookup_prefix()));
    }

    #[test]
    fn the_hash_is_sha256_hex_and_stable() {
        let key = ApiKeySecret::parse(&format!("gpx_{}", "A".repeat(43))).expect("well formed");
        assert_eq!(key.hash().len(), 64);
        assert_eq!(
            key.hash(),
            ApiKeySecret::parse(key.expose()).expect("again").hash()
        );
    }

    #[test]
    fn foreign_shapes_are_refused() {
        for text in [
            "",
            "gpx_short",
            &format!("sk_{}", "A".repeat(43)),
            &format!("gpx_{}!", "A".repeat(42)),
        ] {
            assert!(ApiKeySecret::parse(text).is_none(), "{text}");
        }
    }

    #[test]
    fn debug_output_shows_only_the_prefix() {
        let key = ApiKeySecret::generate();
        let debug = format!("{key:?}");
        assert!(!debug.contains(key.expose()));
        assert!(debug.contains(key.lookup_prefix()));
    }
}
