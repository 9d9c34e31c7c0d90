//! A human-readable name: a user's full name, an API key's label.

use crate::Error;

/// A trimmed, non-empty name of at most [`DisplayName::MAX_CHARS`] characters, without control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisplayName(String);

impl DisplayName {
    /// Longest accepted name.
    pub const MAX_CHARS: usize = 100;

    /// Validates `text` as the request field `field`.
    pub fn parse(field: &'static str, text: &str) -> Result<Self, Error> {
        let trimmed = text.trim();
        let invalid = |reason: &str| Error::InvalidField {
            field,
            reason: reason.to_owned(),
        };
        if trimmed.is_empty() {
            return Err(invalid("is required"));
        }
        if trimmed.chars().count() > Self::MAX_CHARS {
            return Err(invalid("must be at most 100 characters"));
        }
        if trimmed.chars().any(char::is_control) {
            return Err(invalid("must not contain control characters"));
        }
        Ok(DisplayName(trimmed.to_owned()))
    }

    /// Returns the name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed() {
        assert_eq!(
            DisplayName::parse("name", "  John Doe ").expect("valid").as_str(),
            "John Doe"
        );
    }

    #[test]
    fn empty_long_and_control_names_are_refused_naming_the_field() {
        for text in ["   ", &"x".repeat(101), "line\nbreak"] {
            match DisplayName::parse("name", text) {
                Err(Error::InvalidField { field: "name", .. }) => {}
                other => panic!("{text:?} gave {other:?}"),
            }
        }
    }
}
