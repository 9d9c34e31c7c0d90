//! Money in integer micro-dollars.

use std::fmt;
use std::str::FromStr;

/// An amount of US dollars in millionths of a dollar. All arithmetic on balances happens on this
/// integer; decimals exist only at the edges (configuration, JSON fields fixed as doubles by the seeds).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, serde::Serialize, serde::Deserialize,
)]
#[serde(transparent)]
pub struct UsdMicros(i64);

/// Says why a text is not an amount of money.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    /// Not a decimal number such as `12`, `12.5` or `0.000001`.
    #[error("{0:?} is not a decimal amount such as 12.50")]
    NotDecimal(String),
    /// More than six digits after the point: smaller than a micro-dollar.
    #[error("{0:?} has more than 6 decimal places")]
    TooPrecise(String),
    /// Beyond what an i64 of micro-dollars holds.
    #[error("{0:?} is too large")]
    Overflow(String),
}

impl UsdMicros {
    /// Micro-dollars in a dollar.
    pub const PER_DOLLAR: i64 = 1_000_000;
    /// Zero dollars.
    pub const ZERO: UsdMicros = UsdMicros(0);

    /// Wraps an amount already in micro-dollars.
    pub const fn from_micros(micros: i64) -> Self {
        UsdMicros(micros)
    }

    /// Returns the amount in micro-dollars.
    pub const fn micros(self) -> i64 {
        self.0
    }

    /// Returns the amount as a double, for the edges where the public contract fixes a double.
    #[expect(
        clippy::cast_precision_loss,
        reason = "only for display at the edges; never computed on"
    )]
    pub fn to_dollars_f64(self) -> f64 {
        self.0 as f64 / Self::PER_DOLLAR as f64
    }

    /// Parses a decimal amount of dollars (`"100"`, `"2.5"`, `"-0.25"`) without going through a float.
    pub fn parse_dollars(text: &str) -> Result<Self, MoneyError> {
        let trimmed = text.trim();
        let (negative, digits) = match trimmed.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, trimmed),
        };
        let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
        let all_digits = |part: &str| part.bytes().all(|byte| byte.is_ascii_digit());
        if whole.is_empty() && fraction.is_empty() || !all_digits(whole) || !all_digits(fraction) {
            return Err(MoneyError::NotDecimal(text.to_owned()));
        }
        if fraction.len() > 6 {
            return Err(MoneyError::TooPrecise(text.to_owned()));
        }
        let overflow = || MoneyError::Overflow(text.to_owned());
        let whole_micros = if whole.is_empty() {
            0
        } else {
            whole
                .parse::<i64>()
                .map_err(|_| overflow())?
                .checked_mul(Self::PER_DOLLAR)
                .ok_or_else(overflow)?
        };
        let fraction_micros = if fraction.is_empty() {
            0
        } else {
            // Right-pad to six digits: "5" is 500000 micro-dollars.
            format!("{fraction:0<6}").parse::<i64>().map_err(|_| overflow())?
        };
        let magnitude = whole_micros.checked_add(fraction_micros).ok_or_else(overflow)?;
        Ok(UsdMicros(if negative { -magnitude } else { magnitude }))
    }
}

impl FromStr for UsdMicros {
    type Err = MoneyError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        UsdMicros::parse_dollars(text)
    }
}

impl fmt::Display for UsdMicros {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let magnitude = self.0.unsigned_abs();
        let per_dollar = Self::PER_DOLLAR.unsigned_abs();
        write!(
            f,
            "{sign}{}.{:06}",
            magnitude / per_dollar,
            magnitude % per_dollar
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_amounts_parse_exactly() {
        let cases = [
            ("100", 100_000_000),
            ("100.00", 100_000_000),
            ("2.5", 2_500_000),
            (".25", 250_000),
            ("0.000001", 1),
            ("-1.5", -1_500_000),
            ("0", 0),
        ];
        for (text, micros) in cases {
            assert_eq!(
                UsdMicros::parse_dollars(text),
                Ok(UsdMicros::from_micros(micros)),
                "{text}"
            );
        }
    }

    #[test]
    fn text_that_is_not_a_decimal_is_refused() {
        for text in ["", "abc", "1.2.3", "1e5", "$5", "."] {
            assert!(
                matches!(UsdMicros::parse_dollars(text), Err(MoneyError::NotDecimal(_))),
                "{text:?}"
            );
        }
    }

    #[test]
    fn sub_micro_precision_is_refused_rather_than_rounded() {
        assert!(matches!(
            UsdMicros::parse_dollars("0.0000001"),
            Err(MoneyError::TooPrecise(_))
        ));
    }

    #[test]
    fn amounts_beyond_i64_are_refused() {
        assert!(matches!(
            UsdMicros::parse_dollars("99999999999999999999"),
            Err(MoneyError::Overflow(_))
        ));
    }

    #[test]
    fn display_shows_six_decimals() {
        assert_eq!(UsdMicros::from_micros(2_500_000).to_string(), "2.500000");
        assert_eq!(UsdMicros::from_micros(-1).to_string(), "-0.000001");
    }
}
