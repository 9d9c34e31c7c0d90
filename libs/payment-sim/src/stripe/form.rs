//! Stripe's request encoding (spec A1): `application/x-www-form-urlencoded` with bracket notation
//! (`metadata[user_id]=42`, `payment_method_types[]=card`, `payment_method_types[0]=card`).

use std::collections::BTreeMap;

/// The decoded `key=value` pairs of one request body, in the order they were sent.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct FormParams {
    pairs: Vec<(String, String)>,
}

/// A body that is not valid form encoding (bad `%` escape or not UTF-8 once decoded).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct MalformedForm;

impl FormParams {
    /// Decodes a form body; `+` is a space and `%XX` a byte, as browsers and Stripe's clients send.
    pub(crate) fn parse(body: &[u8]) -> Result<Self, MalformedForm> {
        let mut pairs = Vec::new();
        for part in body.split(|byte| *byte == b'&').filter(|part| !part.is_empty()) {
            let (key, value) = match part.iter().position(|byte| *byte == b'=') {
                Some(at) => (&part[..at], &part[at + 1..]),
                None => (part, &b""[..]),
            };
            pairs.push((percent_decode(key)?, percent_decode(value)?));
        }
        Ok(Self { pairs })
    }

    /// Returns the last value sent for the scalar `name`.
    pub(crate) fn scalar(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .rev()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// Returns the values of the array `name` (`name[]=a` or `name[0]=a`), in the order sent.
    pub(crate) fn list(&self, name: &str) -> Vec<String> {
        self.pairs
            .iter()
            .filter(|(key, _)| {
                key.strip_prefix(name)
                    .and_then(|rest| rest.strip_prefix('['))
                    .and_then(|rest| rest.strip_suffix(']'))
                    .is_some_and(|index| index.chars().all(|c| c.is_ascii_digit()))
            })
            .map(|(_, value)| value.clone())
            .collect()
    }

    /// Returns the one-level hash `name[k]=v` (e.g. `metadata`) as a map.
    pub(crate) fn hash(&self, name: &str) -> BTreeMap<String, String> {
        self.pairs
            .iter()
            .filter_map(|(key, value)| {
                let field = key.strip_prefix(name)?.strip_prefix('[')?.strip_suffix(']')?;
                (!field.is_empty() && !field.contains('[')).then(|| (field.to_owned(), value.clone()))
            })
            .collect()
    }

    /// Returns whether any key is `name` itself or a bracketed field of it (`name[...]`).
    pub(crate) fn has(&self, name: &str) -> bool {
        self.pairs.iter().any(|(key, _)| top_level(key) == name)
    }

    /// Returns whether the exact key (e.g. `card[number]`) was sent.
    pub(crate) fn has_key(&self, key: &str) -> bool {
        self.pairs.iter().any(|(sent, _)| sent == key)
    }

    /// Returns the distinct top-level parameter names (`metadata[x]` counts as `metadata`).
    pub(crate) fn top_level_names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.pairs.iter().map(|(key, _)| top_level(key)).collect();
        names.dedup();
        names
    }

    /// Returns a description of the parameters that ignores the order of different keys, for
    /// comparing an idempotent retry with its first request.
    pub(crate) fn fingerprint(&self) -> String {
        let mut pairs: Vec<&(String, String)> = self.pairs.iter().collect();
        // A stable sort by key keeps the order of repeated keys, which is an array's order.
        pairs.sort_by(|(left, _), (right, _)| left.cmp(right));
        pairs
            .iter()
            .map(|(key, value)| format!("{key}={value}"))
            .collect::<Vec<_>>()
            .join("&")
    }
}

fn top_level(key: &str) -> &str {
    key.split('[').next().unwrap_or(key)
}

fn percent_decode(raw: &[u8]) -> Result<String, MalformedForm> {
    let mut bytes = Vec::with_capacity(raw.len());
    let mut index = 0;
    while let Some(&byte) = raw.get(index) {
        match byte {
            b'+' => bytes.push(b' '),
            b'%' => {
                let high = raw.get(index + 1).and_then(|b| hex_value(*b));
                let low = raw.get(index + 2).and_then(|b| hex_value(*b));
                let (Some(high), Some(low)) = (high, low) else {
                    return Err(MalformedForm);
                };
                bytes.push(high << 4 | low);
                index += 2;
            }
            other => bytes.push(other),
        }
        index += 1;
    }
    String::from_utf8(bytes).map_err(|_| MalformedForm)
}

fn hex_value(digit: u8) -> Option<u8> {
    char::from(digit)
        .to_digit(16)
        .and_then(|value| u8::try_from(value).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bracket_notation_decodes_into_scalars_lists_and_hashes() {
        let form = FormParams::parse(
            b"amount=2000&metadata%5Buser_id%5D=42&metadata[note]=a+b%21\
              &payment_method_types[]=card&payment_method_types[1]=link&confirm=true",
        )
        .unwrap();
        assert_eq!(form.scalar("amount"), Some("2000"));
        assert_eq!(form.list("payment_method_types"), vec!["card", "link"]);
        let metadata = form.hash("metadata");
        assert_eq!(metadata.get("user_id").map(String::as_str), Some("42"));
        assert_eq!(metadata.get("note").map(String::as_str), Some("a b!"));
        assert!(form.has("metadata"));
        assert!(!form.has("customer"));
        assert_eq!(
            form.top_level_names(),
            vec!["amount", "metadata", "payment_method_types", "confirm"]
        );
    }

    #[test]
    fn the_fingerprint_ignores_the_order_of_different_keys() {
        let first = FormParams::parse(b"amount=1&currency=usd").unwrap();
        let second = FormParams::parse(b"currency=usd&amount=1").unwrap();
        let other = FormParams::parse(b"currency=usd&amount=2").unwrap();
        assert_eq!(first.fingerprint(), second.fingerprint());
        assert_ne!(first.fingerprint(), other.fingerprint());
    }

    #[test]
    fn a_broken_escape_is_malformed() {
        assert_eq!(FormParams::parse(b"amount=%2"), Err(MalformedForm));
        assert_eq!(FormParams::parse(b"amount=%ff"), Err(MalformedForm));
    }
}
