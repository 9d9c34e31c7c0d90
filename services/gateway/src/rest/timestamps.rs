//! Timestamps as REST shows them.

/// Returns Unix milliseconds as RFC 3339 (`2026-11-22T10:30:00.123Z`); 0 and out-of-range values are `None`.
pub fn rfc3339(millis: i64) -> Option<String> {
    if millis == 0 {
        return None;
    }
    chrono::DateTime::from_timestamp_millis(millis)
        .map(|time| time.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
}

#[cfg(test)]
mod tests {
    use super::rfc3339;

    #[test]
    fn milliseconds_become_rfc3339_in_utc() {
        assert_eq!(
            rfc3339(1_705_055_400_123).as_deref(),
            Some("2024-01-12T10:30:00.123Z")
        );
        assert_eq!(rfc3339(0), None);
    }
}
