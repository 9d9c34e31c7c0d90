use super::*;

fn rule(text: &str) -> AllowRule {
    text.parse().expect("test rules are valid")
}

#[test]
fn every_documented_form_parses_and_prints_back() {
    for (text, printed) in [
        ("inference.internal", "inference.internal"),
        ("Inference.Internal:8080", "inference.internal:8080"),
        ("inference.internal.", "inference.internal"),
        ("*.corp.example", "*.corp.example"),
        ("*.Corp.Example:443", "*.corp.example:443"),
        ("10.1.2.3", "10.1.2.3"),
        ("10.1.2.3:8080", "10.1.2.3:8080"),
        ("::1", "::1"),
        ("[::1]", "::1"),
        ("[::1]:8080", "[::1]:8080"),
        ("10.0.0.0/8", "10.0.0.0/8"),
        ("fd00::/8", "fd00::/8"),
        ("  localhost  ", "localhost"),
        ("my_service.internal", "my_service.internal"),
    ] {
        assert_eq!(rule(text).to_string(), printed, "{text}");
    }
}

#[test]
fn malformed_rules_are_refused_with_the_reason() {
    let refused = |text: &str| text.parse::<AllowRule>().expect_err(text);
    assert_eq!(refused("   "), RuleError::Empty);
    assert_eq!(refused("*"), RuleError::AllowsEverything);
    assert!(matches!(refused("host:0"), RuleError::InvalidPort { .. }));
    assert!(matches!(refused("host:65536"), RuleError::InvalidPort { .. }));
    assert!(matches!(refused("host:http"), RuleError::InvalidPort { .. }));
    assert!(matches!(refused("10.0.0.0/33"), RuleError::InvalidCidr { .. }));
    assert!(matches!(refused("10.0.0.0/8:80"), RuleError::InvalidCidr { .. }));
    assert!(
        matches!(refused("10.1.0.0/8"), RuleError::HostBitsSet { network, .. } if network == "10.0.0.0/8")
    );
    assert!(matches!(
        refused("fd00::zz:8080"),
        RuleError::UnbracketedIpv6 { .. }
    ));
    assert!(matches!(
        refused("[10.0.0.1]"),
        RuleError::InvalidBracketedAddress { .. }
    ));
    assert!(matches!(
        refused("[::1]8080"),
        RuleError::InvalidBracketedAddress { .. }
    ));
    assert!(matches!(
        refused("[::1"),
        RuleError::InvalidBracketedAddress { .. }
    ));
    for bad_host in [
        "a..b",
        "-a.b",
        "a-.b",
        "a.*.b",
        "**.b",
        "*.",
        "a b",
        "ex ample.com",
        "10.1",
        "a.0x7f",
        ":80",
    ] {
        assert!(
            matches!(refused(bad_host), RuleError::InvalidHostname { .. }),
            "{bad_host}"
        );
    }
}

#[test]
fn error_messages_say_what_to_write_instead() {
    let error = "10.1.0.0/8".parse::<AllowRule>().expect_err("host bits are set");
    assert_eq!(
        error.to_string(),
        "10.1.0.0/8 has host bits set; write the network address 10.0.0.0/8"
    );
}

#[test]
fn a_host_rule_matches_its_host_on_any_port_regardless_of_case() {
    let rule = rule("inference.internal");
    assert!(rule.matches("inference.internal", 80));
    assert!(rule.matches("INFERENCE.internal.", 8443));
    assert!(!rule.matches("api.inference.internal", 80));
    assert!(!rule.matches("inference.internal.evil.example", 80));
}

#[test]
fn a_host_rule_with_a_port_refuses_other_ports() {
    let rule = rule("inference.internal:8080");
    assert!(rule.matches("inference.internal", 8080));
    assert!(!rule.matches("inference.internal", 80));
}

#[test]
fn a_wildcard_matches_subdomains_but_not_the_bare_suffix() {
    let rule = rule("*.corp.example");
    assert!(rule.matches("a.corp.example", 443));
    assert!(rule.matches("a.b.CORP.example", 443));
    assert!(!rule.matches("corp.example", 443));
    assert!(!rule.matches("evilcorp.example", 443));
}

#[test]
fn an_address_rule_matches_only_that_literal_and_port() {
    let rule = rule("127.0.0.1:8080");
    assert!(rule.matches("127.0.0.1", 8080));
    assert!(!rule.matches("127.0.0.1", 8081));
    assert!(!rule.matches("127.0.0.2", 8080));
    assert!(!rule.matches("localhost", 8080));
    assert!(self::rule("[::1]:8080").matches("[::1]", 8080));
}

#[test]
fn a_network_rule_matches_literal_addresses_inside_it() {
    let rule = rule("10.0.0.0/8");
    assert!(rule.matches("10.20.30.40", 1));
    assert!(!rule.matches("11.0.0.1", 1));
    assert!(!rule.matches("ten.internal", 1));
}

#[test]
fn only_portless_address_rules_admit_resolved_addresses() {
    let ten: IpAddr = "10.9.9.9".parse().expect("valid");
    assert!(rule("10.0.0.0/8").admits_resolved_address(ten));
    assert!(rule("10.9.9.9").admits_resolved_address(ten));
    assert!(!rule("10.9.9.9:80").admits_resolved_address(ten));
    assert!(!rule("ten.internal").admits_resolved_address(ten));
}
