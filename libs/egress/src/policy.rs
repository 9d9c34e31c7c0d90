//! The operator's allow-list as a whole.

use std::net::IpAddr;
use std::str::FromStr;

use crate::rule::{AllowRule, RuleError, TargetHost};

/// The set of allow rules an [`crate::EgressClient`] lets through its SSRF guard.
///
/// An empty policy (the default) allows only public addresses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EgressPolicy {
    /// Checked in order; the first match wins, though order never changes the answer.
    rules: Vec<AllowRule>,
}

impl EgressPolicy {
    /// Creates a policy from parsed rules.
    pub fn new(rules: Vec<AllowRule>) -> Self {
        EgressPolicy { rules }
    }

    /// Parses a comma- or whitespace-separated list such as `"a.internal, b.internal:80 10.0.0.0/8"`.
    ///
    /// Empty text yields a policy without rules. The first bad entry fails the whole list, so a typo in
    /// configuration stops startup instead of silently allowing less (or more) than intended.
    pub fn parse_list(text: &str) -> Result<Self, RuleError> {
        let rules = text
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|entry| !entry.is_empty())
            .map(AllowRule::from_str)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(EgressPolicy { rules })
    }

    /// Returns the rules in the order they were given.
    pub fn rules(&self) -> &[AllowRule] {
        &self.rules
    }

    /// Returns true when a rule names `host` (a URL host, IPv6 brackets optional) on `port`.
    ///
    /// Hostnames match host and wildcard rules; IP literals match address and network rules. Allowed targets
    /// bypass the address check entirely, because the operator vouches for them.
    pub fn allows(&self, host: &str, port: u16) -> bool {
        let host = TargetHost::parse(host);
        self.rules.iter().any(|rule| rule.matches_target(&host, port))
    }

    /// Returns true when a port-less address or network rule covers a resolved `address`.
    ///
    /// This lets a hostname that resolves into an allow-listed network (say `10.0.0.0/8`) through the
    /// resolver, which is no more than the operator already allows by literal address.
    pub(crate) fn admits_resolved_address(&self, address: IpAddr) -> bool {
        self.rules
            .iter()
            .any(|rule| rule.admits_resolved_address(address))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(text: &str) -> EgressPolicy {
        EgressPolicy::parse_list(text).expect("test policies are valid")
    }

    #[test]
    fn an_empty_list_has_no_rules() {
        assert_eq!(policy("").rules().len(), 0);
        assert_eq!(policy(" , ,\n").rules().len(), 0);
        assert!(!policy("").allows("127.0.0.1", 80));
    }

    #[test]
    fn entries_may_be_separated_by_commas_or_whitespace() {
        let policy = policy("a.internal, b.internal:80 10.0.0.0/8,\t*.corp.example");
        assert_eq!(policy.rules().len(), 4);
        assert!(policy.allows("a.internal", 1234));
        assert!(policy.allows("b.internal", 80));
        assert!(!policy.allows("b.internal", 81));
        assert!(policy.allows("10.3.2.1", 443));
        assert!(policy.allows("x.corp.example", 443));
        assert!(!policy.allows("c.internal", 80));
    }

    #[test]
    fn one_bad_entry_fails_the_whole_list() {
        let error = EgressPolicy::parse_list("a.internal, host:99999").expect_err("port is out of range");
        assert!(matches!(error, RuleError::InvalidPort { .. }));
    }

    #[test]
    fn ipv6_literals_match_with_or_without_brackets() {
        let policy = policy("[::1]:8080");
        assert!(policy.allows("[::1]", 8080));
        assert!(policy.allows("::1", 8080));
        assert!(!policy.allows("[::1]", 8081));
    }

    #[test]
    fn resolved_addresses_are_admitted_only_by_portless_address_rules() {
        let policy = policy("10.0.0.0/8 192.168.1.1:80");
        assert!(policy.admits_resolved_address("10.1.1.1".parse().expect("valid")));
        assert!(!policy.admits_resolved_address("192.168.1.1".parse().expect("valid")));
    }
}
