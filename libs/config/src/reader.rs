//! Parsing variables into typed values.

use std::fmt::Display;
use std::ops::RangeInclusive;
use std::str::FromStr;
use std::time::Duration;

use secrecy::SecretString;

use crate::{ConfigErrors, EnvMap, InvalidVariable};

/// Reads variables from an [`EnvMap`] into typed values.
///
/// A bad value does not stop reading: the reader records it, returns the default so that reading
/// can go on, and [`Reader::finish`] reports every problem at once. It also remembers the name of
/// every variable it was asked for, which is how `.env.example` is checked for completeness.
#[derive(Debug)]
pub struct Reader<'a> {
    env: &'a EnvMap,
    names: Vec<String>,
    errors: Vec<InvalidVariable>,
}

/// Reads a whole configuration from `env` with `read`, returning it when every variable was valid
/// or every problem found: the body of each `Config::from_env_map`.
pub fn read_all<T>(env: &EnvMap, read: impl FnOnce(&mut Reader<'_>) -> T) -> Result<T, ConfigErrors> {
    let mut reader = Reader::new(env);
    let value = read(&mut reader);
    reader.finish(value)
}

impl<'a> Reader<'a> {
    /// Starts reading from `env`.
    pub fn new(env: &'a EnvMap) -> Self {
        Reader {
            env,
            names: Vec::new(),
            errors: Vec::new(),
        }
    }

    /// Returns the raw value of `name`, or `None` when unset or empty.
    pub fn raw(&mut self, name: &str) -> Option<&'a str> {
        if !self.names.iter().any(|known| known == name) {
            self.names.push(name.to_owned());
        }
        self.env.get(name).map(str::trim)
    }

    /// Returns the value of `name`, or `default`.
    pub fn string(&mut self, name: &str, default: &str) -> String {
        self.raw(name).unwrap_or(default).to_owned()
    }

    /// Returns the value of `name`, if set.
    pub fn optional_string(&mut self, name: &str) -> Option<String> {
        self.raw(name).map(str::to_owned)
    }

    /// Returns the value of `name` as a secret, which never appears in logs or error messages.
    pub fn secret(&mut self, name: &str) -> Option<SecretString> {
        self.raw(name).map(|value| SecretString::from(value.to_owned()))
    }

    /// Returns `name` as a boolean (`true/false`, `1/0`, `yes/no`, `on/off`), or `default`.
    pub fn bool(&mut self, name: &str, default: bool) -> bool {
        let Some(value) = self.raw(name) else {
            return default;
        };
        match value.to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" => true,
            "false" | "0" | "no" | "off" => false,
            _ => {
                self.invalid(name, Some(value), "expected true or false");
                default
            }
        }
    }

    /// Returns `name` parsed as a number within `range`, or `default`.
    pub fn number<T>(&mut self, name: &str, default: T, range: RangeInclusive<T>) -> T
    where
        T: FromStr + PartialOrd + Display + Copy,
    {
        let Some(value) = self.raw(name) else {
            return default;
        };
        match value.parse::<T>() {
            Ok(number) if range.contains(&number) => number,
            _ => {
                let reason = format!(
                    "expected a whole number from {} to {}",
                    range.start(),
                    range.end()
                );
                self.invalid(name, Some(value), reason);
                default
            }
        }
    }

    /// Returns `name` parsed with its `FromStr`, or `default`; the parse error becomes the reason.
    pub fn parse<T>(&mut self, name: &str, default: T) -> T
    where
        T: FromStr,
        T::Err: Display,
    {
        self.optional_parse(name).unwrap_or(default)
    }

    /// Returns `name` parsed with its `FromStr`, if set and valid.
    pub fn optional_parse<T>(&mut self, name: &str) -> Option<T>
    where
        T: FromStr,
        T::Err: Display,
    {
        let value = self.raw(name)?;
        match value.parse::<T>() {
            Ok(parsed) => Some(parsed),
            Err(error) => {
                self.invalid(name, Some(value), error.to_string());
                None
            }
        }
    }

    /// Returns `name` as a duration such as `500ms`, `30s`, `15m`, `24h` or `7d`, or `default`.
    pub fn duration(&mut self, name: &str, default: Duration) -> Duration {
        let Some(value) = self.raw(name) else {
            return default;
        };
        match humantime::parse_duration(value) {
            Ok(duration) => duration,
            Err(_) => {
                self.invalid(
                    name,
                    Some(value),
                    "expected a duration such as 500ms, 30s, 15m, 24h or 7d",
                );
                default
            }
        }
    }

    /// Returns the choice whose name equals `name`'s value (case-insensitively), or `default`.
    pub fn choice<T: Copy>(&mut self, name: &str, default: T, choices: &[(&str, T)]) -> T {
        let Some(value) = self.raw(name) else {
            return default;
        };
        if let Some((_, choice)) = choices
            .iter()
            .find(|(label, _)| label.eq_ignore_ascii_case(value))
        {
            return *choice;
        }
        let labels: Vec<&str> = choices.iter().map(|(label, _)| *label).collect();
        self.invalid(
            name,
            Some(value),
            format!("expected one of {}", labels.join(", ")),
        );
        default
    }

    /// Records that `name` has an unusable value; `value` is `None` for secrets.
    pub fn invalid(&mut self, name: &str, value: Option<&str>, reason: impl Into<String>) {
        let problem = InvalidVariable {
            name: name.to_owned(),
            value: value.map(str::to_owned),
            reason: reason.into(),
        };
        // Several services read shared variables; one bad value is one line of the report.
        if !self.errors.contains(&problem) {
            self.errors.push(problem);
        }
    }

    /// Returns the names of every variable read so far, in reading order.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Returns `value` when every variable was valid, or every problem found.
    pub fn finish<T>(self, value: T) -> Result<T, ConfigErrors> {
        if self.errors.is_empty() {
            Ok(value)
        } else {
            Err(ConfigErrors::from(self.errors))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> EnvMap {
        EnvMap::from_pairs(pairs.iter().copied())
    }

    #[test]
    fn unset_variables_take_their_defaults() {
        let env = env(&[]);
        let mut reader = Reader::new(&env);
        assert_eq!(reader.string("A", "x"), "x");
        assert_eq!(reader.number("B", 7u16, 1..=10), 7);
        assert!(reader.bool("C", true));
        assert_eq!(
            reader.duration("D", Duration::from_secs(3)),
            Duration::from_secs(3)
        );
        assert_eq!(reader.finish(()), Ok(()));
    }

    #[test]
    fn every_bad_value_is_reported_not_just_the_first() {
        let env = env(&[
            ("PORT", "99999"),
            ("FLAG", "maybe"),
            ("WAIT", "soon"),
            ("MODE", "fast"),
        ]);
        let mut reader = Reader::new(&env);
        reader.number("PORT", 80u32, 1..=65535);
        reader.bool("FLAG", false);
        reader.duration("WAIT", Duration::ZERO);
        reader.choice("MODE", 0, &[("slow", 1), ("steady", 2)]);
        let errors = reader.finish(()).expect_err("four bad values");
        assert_eq!(errors.variables().len(), 4);
        let text = errors.to_string();
        assert!(
            text.contains("PORT=\"99999\": expected a whole number from 1 to 65535"),
            "{text}"
        );
        assert!(text.contains("FLAG=\"maybe\": expected true or false"), "{text}");
        assert!(text.contains("WAIT=\"soon\": expected a duration"), "{text}");
        assert!(
            text.contains("MODE=\"fast\": expected one of slow, steady"),
            "{text}"
        );
    }

    #[test]
    fn a_shared_variable_read_twice_is_reported_once() {
        let env = env(&[("PORT", "x")]);
        let mut reader = Reader::new(&env);
        reader.number("PORT", 1u16, 1..=2);
        reader.number("PORT", 1u16, 1..=2);
        assert_eq!(reader.finish(()).expect_err("bad").variables().len(), 1);
    }

    #[test]
    fn durations_accept_human_units() {
        let env = env(&[("A", "24h"), ("B", "500ms"), ("C", "7d"), ("D", "15m")]);
        let mut reader = Reader::new(&env);
        assert_eq!(reader.duration("A", Duration::ZERO), Duration::from_secs(86_400));
        assert_eq!(reader.duration("B", Duration::ZERO), Duration::from_millis(500));
        assert_eq!(
            reader.duration("C", Duration::ZERO),
            Duration::from_secs(7 * 86_400)
        );
        assert_eq!(reader.duration("D", Duration::ZERO), Duration::from_secs(900));
    }

    #[test]
    fn choices_are_case_insensitive() {
        let env = env(&[("MODE", "JSON")]);
        let mut reader = Reader::new(&env);
        assert_eq!(reader.choice("MODE", 0, &[("pretty", 0), ("json", 1)]), 1);
    }

    #[test]
    fn the_reader_remembers_every_name_it_was_asked_for_once() {
        let env = env(&[]);
        let mut reader = Reader::new(&env);
        reader.string("A", "");
        reader.bool("B", false);
        reader.string("A", "");
        assert_eq!(reader.names(), &["A".to_owned(), "B".to_owned()]);
    }
}
