//! Spotting raw card numbers, so that none is ever accepted, stored or logged (PCI-DSS: a server that
//! merely transmits a PAN is in scope). Only processor tokens (`pm_…`) may pass.

/// Fewest and most digits of a payment card number.
const DIGITS: std::ops::RangeInclusive<usize> = 13..=19;

/// Returns whether `text` holds a run of 13–19 digits (spaces and dashes between them allowed, as
/// people type card numbers) that passes the Luhn check.
pub fn contains_card_number(text: &str) -> bool {
    let mut digits: Vec<u8> = Vec::with_capacity(19);
    let mut separators = 0usize;
    for byte in text.bytes() {
        match byte {
            b'0'..=b'9' => {
                digits.push(byte - b'0');
                separators = 0;
            }
            b' ' | b'-' if !digits.is_empty() && separators == 0 => separators += 1,
            _ => {
                if run_is_card(&digits) {
                    return true;
                }
                digits.clear();
                separators = 0;
            }
        }
    }
    run_is_card(&digits)
}

/// Only a whole run counts: a longer number (an id, a hash) holds card-length windows that pass
/// Luhn by chance one time in ten.
fn run_is_card(digits: &[u8]) -> bool {
    DIGITS.contains(&digits.len()) && passes_luhn(digits)
}

fn passes_luhn(digits: &[u8]) -> bool {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(position, &digit)| {
            let digit = u32::from(digit);
            if position % 2 == 1 {
                let doubled = digit * 2;
                if doubled > 9 { doubled - 9 } else { doubled }
            } else {
                digit
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seed_header_and_common_test_cards_are_caught() {
        assert!(contains_card_number("card:4242424242424242:12/25:123"));
        assert!(contains_card_number("4000 0566 5566 5556"));
        assert!(contains_card_number("5555-5555-5555-4444"));
        assert!(contains_card_number(r#"{"number":"378282246310005"}"#));
    }

    #[test]
    fn tokens_amounts_and_numbers_failing_luhn_pass() {
        assert!(!contains_card_number("card:pm_card_visa"));
        assert!(!contains_card_number("crypto:ethereum:0x1234abcd"));
        assert!(!contains_card_number(r#"{"amount": 50.00, "currency": "USD"}"#));
        assert!(!contains_card_number("4242424242424241"));
        assert!(!contains_card_number("123456789012"));
    }
}
