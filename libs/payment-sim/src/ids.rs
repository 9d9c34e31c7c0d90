//! Random identifiers in the shapes the processors use (`pi_3Pgb…`, `5745459419`, `adch_9f…`).

use rand::RngExt;
use rand::distr::Alphanumeric;

/// Returns `prefix` followed by `len` random ASCII letters and digits, like Stripe's ids.
pub(crate) fn alphanumeric(prefix: &str, len: usize) -> String {
    let suffix: String = rand::rng()
        .sample_iter(Alphanumeric)
        .take(len)
        .map(char::from)
        .collect();
    format!("{prefix}{suffix}")
}

/// Returns `prefix` followed by `n_bytes` random bytes in lowercase hex.
pub(crate) fn hex(prefix: &str, n_bytes: usize) -> String {
    let bytes: Vec<u8> = (0..n_bytes).map(|_| rand::random::<u8>()).collect();
    format!("{prefix}{}", hex::encode(bytes))
}

/// Returns a random ten-digit number, like NOWPayments' payment and purchase ids.
pub(crate) fn ten_digits() -> u64 {
    rand::rng().random_range(1_000_000_000..10_000_000_000)
}

/// Returns `len` characters drawn at random from `alphabet`, for coin addresses.
pub(crate) fn from_alphabet(alphabet: &[u8], len: usize) -> String {
    let mut rng = rand::rng();
    (0..len)
        .filter_map(|_| alphabet.get(rng.random_range(0..alphabet.len())))
        .map(|byte| char::from(*byte))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_have_the_prefix_and_length_asked_for() {
        let id = alphanumeric("pi_", 24);
        assert!(id.starts_with("pi_"));
        assert_eq!(id.len(), 27);
        assert!(id[3..].chars().all(|c| c.is_ascii_alphanumeric()));
        assert_eq!(hex("adch_", 12).len(), 5 + 24);
        assert_eq!(ten_digits().to_string().len(), 10);
        assert!(from_alphabet(b"ab", 8).chars().all(|c| c == 'a' || c == 'b'));
    }
}
