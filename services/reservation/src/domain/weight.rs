//! The weight of an instance under `weighted_round_robin`.

/// Returns the weight of the original product: 3.0 for at least 80 GB of VRAM, 2.0 for at least 40,
/// 1.5 for at least 24, else 1.0; times 1.2 when it costs under $1 an hour.
pub fn weight_of(vram_gb: i64, price_micros_per_hour: i64) -> f64 {
    let base = match vram_gb {
        80.. => 3.0,
        40.. => 2.0,
        24.. => 1.5,
        _ => 1.0,
    };
    if price_micros_per_hour < 1_000_000 {
        base * 1.2
    } else {
        base
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_follow_vram_tiers_and_reward_cheap_instances() {
        assert_eq!(weight_of(80, 2_000_000), 3.0);
        assert_eq!(weight_of(48, 2_000_000), 2.0);
        assert_eq!(weight_of(24, 1_000_000), 1.5);
        assert_eq!(weight_of(16, 1_500_000), 1.0);
        assert!((weight_of(24, 999_999) - 1.8).abs() < 1e-9);
        assert!((weight_of(8, 300_000) - 1.2).abs() < 1e-9);
    }
}
