//! Spotting raw card numbers, so that none is ever accepted, stored or logged (PCI-DSS: a server that
//! merely transmits a PAN is in scope). Only processor tokens (`pm_…`) may pass.

/// Fewest and most digits of a payment card number.
const DIGITS: std::ops::RangeInclusive<usize> = 13..=19;

/// Returns whether `text` holds a run of 13–19 digits (single spaces or dashes between them
/// allowed, as people type card numbers) that passes the Luhn check and stands on its own.
pub fn contains_card_number(text: &str) -> bool {
    let bytes = text.as_bytes();
    let mut digits: Vec<u8> = Vec::with_capacity(19);
    let mut index = 0;
    while index < bytes.len() {
        if !bytes[index].is_ascii_digit() {
            index += 1;
            continue;
        }
        let start = index;
        let mut end = index;
        digits.clear();
        while let Some(&byte) = bytes.get(index) {
            match byte {
                b'0'..=b'9' => {
                    digits.push(byte - b'0');
                    index += 1;
                    end = index;
                }
                b' ' | b'-' if bytes.get(index + 1).is_some_and(u8::is_ascii_digit) => index += 1,
                _ => break,
            }
        }
        if run_is_card(&digits) && !part_of_a_word(bytes, start, end) {
            return true;
        }
        index = end;
    }
    false
}

/// Whether the run of digits at `start..end` is glued to letters or digits, directly or through
/// one dash: a part of a UUID, a hash or a hyphenated id, not a number someone typed. A UUID's
/// digits cross its dashes and pass for a card number about one time in a few hundred; every
/// such run touches a hex letter or another group.
fn part_of_a_word(bytes: &[u8], start: usize, end: usize) -> bool {
    let word = |at: Option<usize>| {
        at.and_then(|at| bytes.get(at))
            .is_some_and(u8::is_ascii_alphanumeric)
    };
    let dash = |at: Option<usize>| at.and_then(|at| bytes.get(at)) == Some(&b'-');
    let before = start.checked_sub(1);
    let two_before = start.checked_sub(2);
    word(before)
        || (dash(before) && word(two_before))
        || word(Some(end))
        || (dash(Some(end)) && word(Some(end + 1)))
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
    fn a_card_number_standing_in_text_is_caught() {
        assert!(contains_card_number("pay with 4242 4242 4242 4242 please"));
        assert!(contains_card_number("card=4242424242424242&cvc=123"));
        assert!(contains_card_number("(4242-4242-4242-4242)"));
    }

    #[test]
    fn digits_inside_uuids_and_hyphenated_ids_pass() {
        // 16 digits that pass Luhn, glued to hex through a dash or directly.
        assert!(contains_card_number("4242424242424242"));
        assert!(!contains_card_number("018f3a2b-7c1d-744b-4242-424242424242"));
        assert!(!contains_card_number(
            "auto-renew:018f3a2b-7c1d-744b-4242-424242424242"
        ));
        assert!(!contains_card_number("b4242424242424242"));
        assert!(!contains_card_number("4242424242424242c"));
        assert!(!contains_card_number("order-4242424242424242"));
        for _ in 0..100_000 {
            let id = uuid::Uuid::now_v7().to_string();
            assert!(!contains_card_number(&id), "{id}");
            assert!(!contains_card_number(&format!("auto-renew:{id}")), "{id}");
        }
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
