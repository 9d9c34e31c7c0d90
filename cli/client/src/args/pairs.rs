//! `NAME=VALUE` and `NAME:VALUE` options (`--env`, `--header`), refused by clap when malformed.

use std::fmt;

/// Why an option value is not a `NAME<separator>VALUE` pair; clap prints it after the value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MalformedPair {
    /// The character that must separate the name from the value.
    separator: char,
}

impl fmt::Display for MalformedPair {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let separator = self.separator;
        write!(
            formatter,
            "expected NAME{separator}VALUE, with a name that is not empty and has no spaces"
        )
    }
}

impl std::error::Error for MalformedPair {}

/// Parses an environment variable `NAME=VALUE`; the value may be empty or contain `=`.
pub fn parse_env_pair(pair: &str) -> Result<(String, String), MalformedPair> {
    split_pair(pair, '=', false)
}

/// Parses an HTTP header `NAME:VALUE`; spaces around the name and value are dropped, as in
/// `Content-Type: application/json`.
pub fn parse_header_pair(pair: &str) -> Result<(String, String), MalformedPair> {
    split_pair(pair, ':', true)
}

fn split_pair(pair: &str, separator: char, trim: bool) -> Result<(String, String), MalformedPair> {
    let malformed = MalformedPair { separator };
    let (name, value) = pair.split_once(separator).ok_or(malformed.clone())?;
    let (name, value) = if trim {
        (name.trim(), value.trim())
    } else {
        (name, value)
    };
    if name.is_empty() || name.contains(char::is_whitespace) {
        return Err(malformed);
    }
    Ok((name.to_owned(), value.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_env_pair_splits_at_the_first_equals_sign() {
        assert_eq!(
            parse_env_pair("MODEL=llama=3"),
            Ok(("MODEL".to_owned(), "llama=3".to_owned()))
        );
        assert_eq!(parse_env_pair("EMPTY="), Ok(("EMPTY".to_owned(), String::new())));
    }

    #[test]
    fn a_header_pair_drops_the_spaces_around_its_parts() {
        assert_eq!(
            parse_header_pair("Content-Type: application/json"),
            Ok(("Content-Type".to_owned(), "application/json".to_owned()))
        );
    }

    #[test]
    fn pairs_without_a_separator_or_a_name_are_refused() {
        for malformed in ["MODEL", "=value", "TWO WORDS=x"] {
            assert!(parse_env_pair(malformed).is_err(), "{malformed}");
        }
        for malformed in ["Accept", ": json", "X Y: z"] {
            assert!(parse_header_pair(malformed).is_err(), "{malformed}");
        }
        let message = parse_env_pair("MODEL").expect_err("no separator").to_string();
        assert!(message.contains("NAME=VALUE"), "{message}");
    }
}
