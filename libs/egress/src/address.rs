//! Classification of IP addresses into the public internet and the ranges outbound requests must not reach.

#[cfg(test)]
mod tests;

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::{Ipv4Net, Ipv6Net};

/// Names the kind of non-public range an address belongs to, for error messages and logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AddressClass {
    /// `0.0.0.0` or `::`, which the kernel treats as "this host".
    Unspecified,
    /// `127.0.0.0/8` or `::1`.
    Loopback,
    /// RFC 1918 (`10/8`, `172.16/12`, `192.168/16`) and the RFC 8215 local-use NAT64 prefix.
    Private,
    /// `169.254.0.0/16` (where cloud metadata services live) or `fe80::/10`.
    LinkLocal,
    /// `100.64.0.0/10`, shared by carrier-grade NAT (RFC 6598).
    SharedAddressSpace,
    /// `0.0.0.0/8`, "this network" (RFC 791).
    ThisNetwork,
    /// `192.0.0.0/24` and `2001::/23`, IETF protocol assignments.
    ProtocolAssignment,
    /// `192.0.2.0/24`, `198.51.100.0/24`, `203.0.113.0/24`, `2001:db8::/32` and `3fff::/20`.
    Documentation,
    /// `198.18.0.0/15`, for benchmarking network devices (RFC 2544).
    Benchmarking,
    /// `224.0.0.0/4` or `ff00::/8`.
    Multicast,
    /// `255.255.255.255`.
    Broadcast,
    /// `240.0.0.0/4`, the deprecated 6to4 relay anycast `192.88.99.0/24`, and IPv6 outside `2000::/3`.
    Reserved,
    /// `fc00::/7` (RFC 4193).
    UniqueLocal,
    /// `fec0::/10`, deprecated but still routed inside some networks.
    SiteLocal,
}

/// Returns true when `ip` is anything but a public unicast address.
pub fn is_forbidden_address(ip: IpAddr) -> bool {
    classify_address(ip).is_some()
}

/// Returns the non-public range `ip` falls in, or `None` when it is a public unicast address.
///
/// IPv6 addresses that embed an IPv4 address (IPv4-mapped, IPv4-compatible, NAT64 `64:ff9b::/96` and 6to4
/// `2002::/16`) are classified by the embedded address, because that is where a connection ends up.
pub fn classify_address(ip: IpAddr) -> Option<AddressClass> {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => classify_v6(v6),
    }
}

impl AddressClass {
    /// Returns the class as a noun phrase with its article, such as "a loopback address".
    pub fn description(self) -> &'static str {
        match self {
            AddressClass::Unspecified => "an unspecified address",
            AddressClass::Loopback => "a loopback address",
            AddressClass::Private => "a private address",
            AddressClass::LinkLocal => "a link-local address",
            AddressClass::SharedAddressSpace => "a carrier-grade nat (shared) address",
            AddressClass::ThisNetwork => "a this-network address",
            AddressClass::ProtocolAssignment => "an ietf protocol assignment address",
            AddressClass::Documentation => "a documentation address",
            AddressClass::Benchmarking => "a benchmarking address",
            AddressClass::Multicast => "a multicast address",
            AddressClass::Broadcast => "a broadcast address",
            AddressClass::Reserved => "a reserved address",
            AddressClass::UniqueLocal => "a unique-local address",
            AddressClass::SiteLocal => "a site-local address",
        }
    }
}

impl fmt::Display for AddressClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.description())
    }
}

/// IPv4 ranges that are not public, most specific first. Built in a const so a typo fails to compile.
const V4_RANGES: &[(Ipv4Net, AddressClass)] = &[
    (v4_net(0, 0, 0, 0, 8), AddressClass::ThisNetwork),
    (v4_net(10, 0, 0, 0, 8), AddressClass::Private),
    (v4_net(100, 64, 0, 0, 10), AddressClass::SharedAddressSpace),
    (v4_net(127, 0, 0, 0, 8), AddressClass::Loopback),
    (v4_net(169, 254, 0, 0, 16), AddressClass::LinkLocal),
    (v4_net(172, 16, 0, 0, 12), AddressClass::Private),
    (v4_net(192, 0, 0, 0, 24), AddressClass::ProtocolAssignment),
    (v4_net(192, 0, 2, 0, 24), AddressClass::Documentation),
    (v4_net(192, 88, 99, 0, 24), AddressClass::Reserved),
    (v4_net(192, 168, 0, 0, 16), AddressClass::Private),
    (v4_net(198, 18, 0, 0, 15), AddressClass::Benchmarking),
    (v4_net(198, 51, 100, 0, 24), AddressClass::Documentation),
    (v4_net(203, 0, 113, 0, 24), AddressClass::Documentation),
    (v4_net(224, 0, 0, 0, 4), AddressClass::Multicast),
    (v4_net(240, 0, 0, 0, 4), AddressClass::Reserved),
];

/// IPv6 ranges that are not public, checked after the IPv4-embedding prefixes.
const V6_RANGES: &[(Ipv6Net, AddressClass)] = &[
    (
        v6_net([0x0064, 0xff9b, 0x0001, 0, 0, 0, 0, 0], 48),
        AddressClass::Private,
    ),
    (v6_net([0x0100, 0, 0, 0, 0, 0, 0, 0], 64), AddressClass::Reserved),
    (
        v6_net([0x2001, 0x0db8, 0, 0, 0, 0, 0, 0], 32),
        AddressClass::Documentation,
    ),
    (
        v6_net([0x2001, 0, 0, 0, 0, 0, 0, 0], 23),
        AddressClass::ProtocolAssignment,
    ),
    (
        v6_net([0x3fff, 0, 0, 0, 0, 0, 0, 0], 20),
        AddressClass::Documentation,
    ),
    (
        v6_net([0xfc00, 0, 0, 0, 0, 0, 0, 0], 7),
        AddressClass::UniqueLocal,
    ),
    (v6_net([0xfe80, 0, 0, 0, 0, 0, 0, 0], 10), AddressClass::LinkLocal),
    (v6_net([0xfec0, 0, 0, 0, 0, 0, 0, 0], 10), AddressClass::SiteLocal),
    (v6_net([0xff00, 0, 0, 0, 0, 0, 0, 0], 8), AddressClass::Multicast),
];

/// `2000::/3`, the only IPv6 space currently allocated for global unicast.
const V6_GLOBAL_UNICAST: Ipv6Net = v6_net([0x2000, 0, 0, 0, 0, 0, 0, 0], 3);

/// `::/96`, the deprecated IPv4-compatible addresses (`::a.b.c.d`).
const V6_IPV4_COMPATIBLE: Ipv6Net = v6_net([0, 0, 0, 0, 0, 0, 0, 0], 96);

/// `64:ff9b::/96`, the well-known NAT64 prefix (RFC 6052).
const V6_NAT64: Ipv6Net = v6_net([0x0064, 0xff9b, 0, 0, 0, 0, 0, 0], 96);

/// `2002::/16`, 6to4, which carries an IPv4 address in bits 16 to 47.
const V6_6TO4: Ipv6Net = v6_net([0x2002, 0, 0, 0, 0, 0, 0, 0], 16);

fn classify_v4(ip: Ipv4Addr) -> Option<AddressClass> {
    // Both single addresses sit inside wider ranges, and their own names are the more useful message.
    if ip.is_unspecified() {
        return Some(AddressClass::Unspecified);
    }
    if ip.is_broadcast() {
        return Some(AddressClass::Broadcast);
    }
    V4_RANGES
        .iter()
        .find(|(range, _)| range.contains(&ip))
        .map(|(_, class)| *class)
}

fn classify_v6(ip: Ipv6Addr) -> Option<AddressClass> {
    if ip.is_unspecified() {
        return Some(AddressClass::Unspecified);
    }
    if ip.is_loopback() {
        return Some(AddressClass::Loopback);
    }
    if let Some(embedded) = embedded_v4(ip) {
        return classify_v4(embedded);
    }
    if let Some((_, class)) = V6_RANGES.iter().find(|(range, _)| range.contains(&ip)) {
        return Some(*class);
    }
    // Anything outside global unicast is unallocated or special-purpose, so refusing it is the safe default.
    if !V6_GLOBAL_UNICAST.contains(&ip) {
        return Some(AddressClass::Reserved);
    }
    None
}

/// Returns the IPv4 address an IPv6 address delivers to, for the prefixes that embed one.
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    if let Some(mapped) = ip.to_ipv4_mapped() {
        return Some(mapped);
    }
    let octets = ip.octets();
    if V6_IPV4_COMPATIBLE.contains(&ip) || V6_NAT64.contains(&ip) {
        return Some(Ipv4Addr::new(octets[12], octets[13], octets[14], octets[15]));
    }
    if V6_6TO4.contains(&ip) {
        return Some(Ipv4Addr::new(octets[2], octets[3], octets[4], octets[5]));
    }
    None
}

const fn v4_net(a: u8, b: u8, c: u8, d: u8, prefix_len: u8) -> Ipv4Net {
    Ipv4Net::new_assert(Ipv4Addr::new(a, b, c, d), prefix_len)
}

const fn v6_net(segments: [u16; 8], prefix_len: u8) -> Ipv6Net {
    let [a, b, c, d, e, f, g, h] = segments;
    Ipv6Net::new_assert(Ipv6Addr::new(a, b, c, d, e, f, g, h), prefix_len)
}
