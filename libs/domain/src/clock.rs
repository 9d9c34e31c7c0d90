//! The current time, as every service stores it.

/// Returns the current time in Unix milliseconds, the unit of every timestamp column and of the
/// times services send each other. Every replica (and Redis) shares this clock.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| i64::try_from(since.as_millis()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_time_is_after_this_code_was_written_and_moves_forward() {
        let first = now_ms();
        assert!(first > 1_765_000_000_000, "{first}");
        assert!(now_ms() >= first);
    }
}
