//! NATS-style subject patterns over event names.

/// Returns true when `name` (e.g. `auth.apikey.revoked`) matches `pattern`, where `*` matches one
/// token and a final `>` matches one or more: the same rules NATS applies to subjects, so both buses
/// deliver the same events for the same pattern.
pub fn matches(pattern: &str, name: &str) -> bool {
    let mut pattern_tokens = pattern.split('.');
    let mut name_tokens = name.split('.');
    loop {
        match (pattern_tokens.next(), name_tokens.next()) {
            (Some(">"), Some(_)) => return pattern_tokens.next().is_none(),
            (Some("*"), Some(_)) => {}
            (Some(expected), Some(actual)) if expected == actual => {}
            (None, None) => return true,
            _ => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn patterns_follow_nats_rules() {
        let cases = [
            ("auth.>", "auth.apikey.revoked", true),
            ("auth.>", "auth", false),
            ("auth.*.revoked", "auth.apikey.revoked", true),
            ("auth.*", "auth.apikey.revoked", false),
            (">", "anything.at.all", true),
            ("auth.apikey.revoked", "auth.apikey.revoked", true),
            ("auth.apikey.revoked", "auth.apikey.created", false),
            ("billing.>", "auth.apikey.revoked", false),
        ];
        for (pattern, name, expected) in cases {
            assert_eq!(matches(pattern, name), expected, "{pattern} ~ {name}");
        }
    }
}
