//! A validated, normalised email address.

use std::fmt;
use std::str::FromStr;

/// An email address, trimmed and lower-cased so that one mailbox has one spelling.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct Email(String);

/// Says why a string is not an acceptable email address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmailError {
    /// Nothing but whitespace.
    #[error("email is required")]
    Empty,
    /// Longer than the 254 characters SMTP allows.
    #[error("email is longer than 254 characters")]
    TooLong,
    /// Not of the form local@domain.
    #[error("{0:?} is not a valid email address")]
    Invalid(String),
}

impl Email {
    /// The longest address SMTP can deliver to (RFC 5321).
    pub const MAX_LEN: usize = 254;

    /// Validates and normalises an address.
    pub fn parse(text: &str) -> Result<Self, EmailError> {
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return Err(EmailError::Empty);
        }
        if trimmed.len() > Self::MAX_LEN {
            return Err(EmailError::TooLong);
        }
        // A dotless domain ("user@localhost") is valid by RFC but never a real user's mailbox here.
        let has_dotted_domain = trimmed
            .rsplit_once('@')
            .is_some_and(|(_, domain)| domain.contains('.'));
        if !email_address::EmailAddress::is_valid(trimmed) || !has_dotted_domain {
            return Err(EmailError::Invalid(trimmed.to_owned()));
        }
        Ok(Email(trimmed.to_lowercase()))
    }

    /// Returns the normalised address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for Email {
    type Err = EmailError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Email::parse(text)
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_is_trimmed_and_lower_cased() {
        let email = Email::parse("  John.Doe@Example.COM ").expect("valid address");
        assert_eq!(email.as_str(), "john.doe@example.com");
    }

    #[test]
    fn malformed_addresses_are_refused() {
        for text in [
            "plainaddress",
            "@example.com",
            "user@",
            "user@@example.com",
            "user@localhost",
        ] {
            assert!(
                matches!(Email::parse(text), Err(EmailError::Invalid(_))),
                "{text}"
            );
        }
    }

    #[test]
    fn an_empty_address_is_refused_as_missing() {
        assert_eq!(Email::parse("   "), Err(EmailError::Empty));
    }

    #[test]
    fn an_overlong_address_is_refused() {
        let text = format!("{}@example.com", "a".repeat(250));
        assert_eq!(Email::parse(&text), Err(EmailError::TooLong));
    }
}
