//! One operator allow-list entry: a host, a wildcard suffix, an address or a network, with an optional port.

#[cfg(test)]
mod tests;

use std::fmt;
use std::net::{IpAddr, Ipv4Addr};
use std::str::FromStr;

use ipnet::IpNet;

/// An allow-list entry naming targets the operator trusts, whatever they resolve to.
///
/// Accepted forms: `inference.internal`, `inference.internal:8080`, `*.corp.example` (subdomains only, not
/// `corp.example` itself), `*.corp.example:443`, `10.1.2.3`, `10.1.2.3:8080`, `::1`, `[::1]`, `[::1]:8080`
/// and `10.0.0.0/8`. Hostnames are compared case-insensitively; a rule without a port matches every port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowRule {
    /// What the rule matches, normalised (lower case, no trailing dot) at parse time.
    target: RuleTarget,
    /// The only port the rule matches, or `None` for all ports.
    port: Option<u16>,
}

/// Says why a string is not an allow rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    /// Nothing but whitespace.
    #[error("an allow rule is empty")]
    Empty,
    /// A lone `*`, which would switch the guard off.
    #[error("`*` would allow every host; list hosts or a suffix such as *.corp.example")]
    AllowsEverything,
    /// The text after the last `:` is not a port.
    #[error("{rule}: {port:?} is not a port between 1 and 65535")]
    InvalidPort {
        /// The rule as written.
        rule: String,
        /// The text that should have been a port.
        port: String,
    },
    /// Contains `/` but is not a CIDR block.
    #[error("{rule} is not a cidr block such as 10.0.0.0/8")]
    InvalidCidr {
        /// The rule as written.
        rule: String,
    },
    /// A CIDR block whose address has bits set below the prefix, which usually means a typo.
    #[error("{rule} has host bits set; write the network address {network}")]
    HostBitsSet {
        /// The rule as written.
        rule: String,
        /// The network the rule would have matched.
        network: String,
    },
    /// An IPv6 address followed by a port without brackets, which cannot be split unambiguously.
    #[error("{rule} is ambiguous; write an ipv6 address with a port as [address]:port")]
    UnbracketedIpv6 {
        /// The rule as written.
        rule: String,
    },
    /// A bracketed part that is not an IPv6 address, or text after the closing bracket that is not a port.
    #[error("{rule} is not of the form [ipv6-address] or [ipv6-address]:port")]
    InvalidBracketedAddress {
        /// The rule as written.
        rule: String,
    },
    /// Not a valid DNS hostname.
    #[error("{rule} is not a hostname: {reason}")]
    InvalidHostname {
        /// The rule as written.
        rule: String,
        /// What is wrong with it.
        reason: &'static str,
    },
}

/// What an [`AllowRule`] matches, apart from the port.
#[derive(Debug, Clone, PartialEq, Eq)]
enum RuleTarget {
    /// One hostname, lower case without a trailing dot.
    Host(String),
    /// Every strict subdomain of a name; holds the suffix with its leading dot (`.corp.example`).
    Suffix(String),
    /// One address, matched only when the URL names it literally.
    Address(IpAddr),
    /// A network, matched by literal URL addresses and, in the resolver, by resolved addresses.
    Network(IpNet),
}

/// A URL host normalised for comparison with rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TargetHost {
    /// An IP literal, brackets removed.
    Address(IpAddr),
    /// A hostname, lower case without a trailing dot.
    Name(String),
}

impl AllowRule {
    /// Returns true when the rule lets `host` (a URL host, brackets optional) on `port` through.
    pub fn matches(&self, host: &str, port: u16) -> bool {
        self.matches_target(&TargetHost::parse(host), port)
    }

    /// Returns true when the rule names networks or addresses on every port and `address` is among them.
    ///
    /// The resolver uses this: it sees resolved addresses but not the port, so rules with a port never apply
    /// there.
    pub(crate) fn admits_resolved_address(&self, address: IpAddr) -> bool {
        if self.port.is_some() {
            return false;
        }
        match &self.target {
            RuleTarget::Address(rule_address) => *rule_address == address,
            RuleTarget::Network(network) => network.contains(&address),
            RuleTarget::Host(_) | RuleTarget::Suffix(_) => false,
        }
    }

    pub(crate) fn matches_target(&self, host: &TargetHost, port: u16) -> bool {
        if self.port.is_some_and(|rule_port| rule_port != port) {
            return false;
        }
        match (&self.target, host) {
            (RuleTarget::Host(rule_host), TargetHost::Name(name)) => rule_host == name,
            (RuleTarget::Suffix(suffix), TargetHost::Name(name)) => {
                name.len() > suffix.len() && name.ends_with(suffix.as_str())
            }
            (RuleTarget::Address(rule_address), TargetHost::Address(address)) => rule_address == address,
            (RuleTarget::Network(network), TargetHost::Address(address)) => network.contains(address),
            _ => false,
        }
    }
}

impl FromStr for AllowRule {
    type Err = RuleError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let rule = text.trim();
        if rule.is_empty() {
            return Err(RuleError::Empty);
        }
        if rule.contains('/') {
            return parse_network(rule);
        }
        if let Some(bracketed) = rule.strip_prefix('[') {
            return parse_bracketed(rule, bracketed);
        }
        if let Ok(address) = rule.parse::<IpAddr>() {
            return Ok(AllowRule {
                target: RuleTarget::Address(address),
                port: None,
            });
        }
        let (host, port) = match rule.split_once(':') {
            Some((_, rest)) if rest.contains(':') => {
                return Err(RuleError::UnbracketedIpv6 {
                    rule: rule.to_owned(),
                });
            }
            Some((host, port)) => (host, Some(parse_port(rule, port)?)),
            None => (rule, None),
        };
        if let Ok(address) = host.parse::<Ipv4Addr>() {
            return Ok(AllowRule {
                target: RuleTarget::Address(IpAddr::V4(address)),
                port,
            });
        }
        Ok(AllowRule {
            target: parse_host_pattern(rule, host)?,
            port,
        })
    }
}

impl fmt::Display for AllowRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.target, self.port) {
            (RuleTarget::Host(host), None) => f.write_str(host),
            (RuleTarget::Host(host), Some(port)) => write!(f, "{host}:{port}"),
            (RuleTarget::Suffix(suffix), None) => write!(f, "*{suffix}"),
            (RuleTarget::Suffix(suffix), Some(port)) => write!(f, "*{suffix}:{port}"),
            (RuleTarget::Address(address), None) => write!(f, "{address}"),
            (RuleTarget::Address(IpAddr::V4(address)), Some(port)) => write!(f, "{address}:{port}"),
            (RuleTarget::Address(IpAddr::V6(address)), Some(port)) => write!(f, "[{address}]:{port}"),
            (RuleTarget::Network(network), _) => write!(f, "{network}"),
        }
    }
}

impl TargetHost {
    /// Normalises a URL host: strips IPv6 brackets, lower-cases names and drops one trailing dot.
    pub(crate) fn parse(host: &str) -> TargetHost {
        let unbracketed = host
            .strip_prefix('[')
            .and_then(|inner| inner.strip_suffix(']'))
            .unwrap_or(host);
        match unbracketed.parse::<IpAddr>() {
            Ok(address) => TargetHost::Address(address),
            Err(_) => {
                let name = unbracketed.strip_suffix('.').unwrap_or(unbracketed);
                TargetHost::Name(name.to_ascii_lowercase())
            }
        }
    }
}

fn parse_network(rule: &str) -> Result<AllowRule, RuleError> {
    let network: IpNet = rule.parse().map_err(|_| RuleError::InvalidCidr {
        rule: rule.to_owned(),
    })?;
    if network.trunc() != network {
        return Err(RuleError::HostBitsSet {
            rule: rule.to_owned(),
            network: network.trunc().to_string(),
        });
    }
    Ok(AllowRule {
        target: RuleTarget::Network(network),
        port: None,
    })
}

fn parse_bracketed(rule: &str, bracketed: &str) -> Result<AllowRule, RuleError> {
    let invalid = || RuleError::InvalidBracketedAddress {
        rule: rule.to_owned(),
    };
    let (inner, after) = bracketed.split_once(']').ok_or_else(invalid)?;
    let address: std::net::Ipv6Addr = inner.parse().map_err(|_| invalid())?;
    let port = match after {
        "" => None,
        _ => Some(parse_port(rule, after.strip_prefix(':').ok_or_else(invalid)?)?),
    };
    Ok(AllowRule {
        target: RuleTarget::Address(IpAddr::V6(address)),
        port,
    })
}

fn parse_port(rule: &str, port: &str) -> Result<u16, RuleError> {
    match port.parse::<u16>() {
        Ok(number) if number != 0 => Ok(number),
        _ => Err(RuleError::InvalidPort {
            rule: rule.to_owned(),
            port: port.to_owned(),
        }),
    }
}

fn parse_host_pattern(rule: &str, host: &str) -> Result<RuleTarget, RuleError> {
    if host == "*" {
        return Err(RuleError::AllowsEverything);
    }
    let name = host.strip_suffix('.').unwrap_or(host).to_ascii_lowercase();
    match name.strip_prefix("*.") {
        Some(suffix) => {
            validate_hostname(rule, suffix)?;
            Ok(RuleTarget::Suffix(format!(".{suffix}")))
        }
        None => {
            validate_hostname(rule, &name)?;
            Ok(RuleTarget::Host(name))
        }
    }
}

fn validate_hostname(rule: &str, name: &str) -> Result<(), RuleError> {
    let invalid = |reason| {
        Err(RuleError::InvalidHostname {
            rule: rule.to_owned(),
            reason,
        })
    };
    if name.len() > 253 {
        return invalid("longer than 253 characters");
    }
    for label in name.split('.') {
        if label.is_empty() {
            return invalid("it has an empty label");
        }
        if label.len() > 63 {
            return invalid("a label is longer than 63 characters");
        }
        if label.contains('*') {
            return invalid("`*` is only allowed as the whole first label, as in *.corp.example");
        }
        if !label
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_')
        {
            return invalid("labels may hold only letters, digits, `-` and `_`");
        }
        if label.starts_with('-') || label.ends_with('-') {
            return invalid("a label starts or ends with `-`");
        }
    }
    // URL parsers read a name whose last label is numeric as an IPv4 address ("10.1" is 10.0.0.1), so such
    // a rule would never match the URL it was written for.
    if name.rsplit('.').next().is_some_and(is_numeric_label) {
        return invalid(
            "its last label is numeric, so URLs read it as an ipv4 address; write all four octets",
        );
    }
    Ok(())
}

/// Returns true for a decimal or `0x` hexadecimal label, which the WHATWG URL parser reads as a number.
fn is_numeric_label(label: &str) -> bool {
    match label.strip_prefix("0x") {
        Some(hex) => hex.bytes().all(|byte| byte.is_ascii_hexdigit()),
        None => label.bytes().all(|byte| byte.is_ascii_digit()),
    }
}
