//! A password that meets the policy.

use crate::Error;

/// A password of acceptable length. Never logged: `Debug` hides it.
pub struct Password(String);

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(…)")
    }
}

impl Password {
    /// Longest accepted password in bytes: enough for any passphrase, small enough that hashing it
    /// cannot be used to burn CPU.
    pub const MAX_BYTES: usize = 1024;

    /// Checks `text` against the policy: at least `min_chars` characters, at most [`Self::MAX_BYTES`].
    pub fn parse(text: &str, min_chars: usize) -> Result<Self, Error> {
        if text.len() > Self::MAX_BYTES {
            return Err(Error::PasswordTooLong { max: Self::MAX_BYTES });
        }
        if text.chars().count() < min_chars {
            return Err(Error::PasswordTooShort { min: min_chars });
        }
        Ok(Password(text.to_owned()))
    }

    /// Returns the password's bytes, for hashing.
    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_passwords_are_weak() {
        assert!(matches!(
            Password::parse("1234567", 8),
            Err(Error::PasswordTooShort { min: 8 })
        ));
        assert!(Password::parse("12345678", 8).is_ok());
    }

    #[test]
    fn length_counts_characters_not_bytes() {
        assert!(Password::parse("éééééééé", 8).is_ok());
    }

    #[test]
    fn overlong_passwords_are_refused() {
        let text = "x".repeat(Password::MAX_BYTES + 1);
        assert!(matches!(
            Password::parse(&text, 8),
            Err(Error::PasswordTooLong { .. })
        ));
    }

    #[test]
    fn debug_output_hides_the_password() {
        let password = Password::parse("correct horse", 8).expect("valid");
        assert_eq!(format!("{password:?}"), "Password(…)");
    }
}
