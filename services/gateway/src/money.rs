//! USD amounts at the edges: the public APIs speak dollars as doubles (seed 000), the services
//! micro-dollars as integers. Every conversion happens here.

use gpuproxy_errors::ErrorCode;

use crate::Error;

/// The largest amount a caller may send: a million dollars.
const MAX_DOLLARS: f64 = 1_000_000.0;
/// The largest limit an admin may set: a billion dollars.
const MAX_LIMIT_DOLLARS: f64 = 1_000_000_000.0;

/// Converts micro-dollars to dollars for a response.
pub fn dollars(micros: i64) -> f64 {
    #[allow(
        clippy::cast_precision_loss,
        reason = "amounts are far below 2^52 micro-dollars"
    )]
    let dollars = micros as f64 / 1_000_000.0;
    dollars
}

/// Converts a caller's positive amount to micro-dollars, refusing what is not one (`field` names
/// it); a positive amount under a micro-dollar counts as one, never as zero.
pub fn positive_micros(field: &'static str, dollars: f64) -> Result<i64, Error> {
    if !dollars.is_finite() || dollars <= 0.0 || dollars > MAX_DOLLARS {
        return Err(Error::new(
            ErrorCode::ValidationFailed,
            format!("{field} must be more than 0 and at most 1000000 USD"),
        )
        .with_field(field));
    }
    #[allow(
        clippy::cast_possible_truncation,
        reason = "bounded to a million dollars above"
    )]
    let micros = ((dollars * 1_000_000.0).round() as i64).max(1);
    Ok(micros)
}

/// Converts a caller's limit to micro-dollars: zero (no limit) or positive, refusing negative and
/// non-finite amounts (`field` names it).
pub fn limit_micros(field: &str, dollars: f64) -> Result<i64, Error> {
    if !dollars.is_finite() || !(0.0..=MAX_LIMIT_DOLLARS).contains(&dollars) {
        return Err(Error::new(
            ErrorCode::ValidationFailed,
            format!("{field} must be from 0 (no limit) to 1000000000 USD"),
        )
        .with_field(field));
    }
    #[expect(
        clippy::cast_possible_truncation,
        reason = "bounded to a billion dollars above"
    )]
    let micros = (dollars * 1_000_000.0).round() as i64;
    Ok(micros)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_convert_both_ways_and_bad_ones_name_their_field() {
        assert_eq!(positive_micros("amount", 1.5).expect("valid"), 1_500_000);
        assert_eq!(positive_micros("amount", 0.000_000_1).expect("valid"), 1);
        assert!((dollars(450_000) - 0.45).abs() < 1e-12);
        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY, 2_000_000.0] {
            let error = positive_micros("amount", bad).expect_err("refused");
            assert_eq!(error.code(), ErrorCode::ValidationFailed);
        }
    }

    #[test]
    fn limits_may_be_zero_but_never_negative() {
        assert_eq!(limit_micros("limits.60min", 0.0).expect("valid"), 0);
        assert_eq!(limit_micros("limits.60min", 50.25).expect("valid"), 50_250_000);
        for bad in [-0.01, f64::NAN, f64::INFINITY, 2e9] {
            let error = limit_micros("limits.60min", bad).expect_err("refused");
            assert_eq!(error.code(), ErrorCode::ValidationFailed);
        }
    }
}
