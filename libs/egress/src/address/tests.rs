use super::*;

fn class_of(text: &str) -> Option<AddressClass> {
    classify_address(text.parse().expect("test addresses are valid"))
}

#[test]
fn public_addresses_are_allowed() {
    for text in [
        "8.8.8.8",
        "1.1.1.1",
        "93.184.216.34",
        "100.63.255.255",
        "100.128.0.0",
        "172.15.255.255",
        "172.32.0.0",
        "192.0.1.1",
        "198.17.255.255",
        "198.20.0.0",
        "223.255.255.255",
        "2606:4700::1111",
        "2001:4860:4860::8888",
        "2a00:1450:4001:80b::200e",
        "::ffff:8.8.8.8",
        "64:ff9b::808:808",
        "2002:0808:0808::1",
    ] {
        assert_eq!(class_of(text), None, "{text} should be public");
    }
}

#[test]
fn each_ipv4_special_range_is_refused_with_its_name() {
    for (text, expected) in [
        ("0.0.0.0", AddressClass::Unspecified),
        ("0.1.2.3", AddressClass::ThisNetwork),
        ("10.0.0.1", AddressClass::Private),
        ("10.255.255.255", AddressClass::Private),
        ("172.16.0.1", AddressClass::Private),
        ("172.31.255.254", AddressClass::Private),
        ("192.168.1.1", AddressClass::Private),
        ("100.64.0.1", AddressClass::SharedAddressSpace),
        ("100.127.255.254", AddressClass::SharedAddressSpace),
        ("127.0.0.1", AddressClass::Loopback),
        ("127.255.0.9", AddressClass::Loopback),
        ("169.254.169.254", AddressClass::LinkLocal),
        ("192.0.0.8", AddressClass::ProtocolAssignment),
        ("192.0.2.1", AddressClass::Documentation),
        ("198.51.100.7", AddressClass::Documentation),
        ("203.0.113.9", AddressClass::Documentation),
        ("192.88.99.1", AddressClass::Reserved),
        ("198.18.0.1", AddressClass::Benchmarking),
        ("198.19.255.254", AddressClass::Benchmarking),
        ("224.0.0.251", AddressClass::Multicast),
        ("239.255.255.250", AddressClass::Multicast),
        ("240.0.0.1", AddressClass::Reserved),
        ("255.255.255.254", AddressClass::Reserved),
        ("255.255.255.255", AddressClass::Broadcast),
    ] {
        assert_eq!(class_of(text), Some(expected), "{text}");
    }
}

#[test]
fn each_ipv6_special_range_is_refused_with_its_name() {
    for (text, expected) in [
        ("::", AddressClass::Unspecified),
        ("::1", AddressClass::Loopback),
        ("fe80::1", AddressClass::LinkLocal),
        ("febf:ffff::1", AddressClass::LinkLocal),
        ("fc00::1", AddressClass::UniqueLocal),
        ("fd12:3456:789a::1", AddressClass::UniqueLocal),
        ("fec0::1", AddressClass::SiteLocal),
        ("ff02::1", AddressClass::Multicast),
        ("2001:db8::1", AddressClass::Documentation),
        ("3fff:0fff::1", AddressClass::Documentation),
        ("2001::1", AddressClass::ProtocolAssignment),
        ("100::1", AddressClass::Reserved),
        ("64:ff9b:1::1", AddressClass::Private),
        ("4000::1", AddressClass::Reserved),
    ] {
        assert_eq!(class_of(text), Some(expected), "{text}");
    }
}

#[test]
fn ipv6_addresses_that_embed_a_forbidden_ipv4_address_are_refused() {
    for (text, expected) in [
        ("::ffff:127.0.0.1", AddressClass::Loopback),
        ("::ffff:169.254.169.254", AddressClass::LinkLocal),
        ("::ffff:10.0.0.1", AddressClass::Private),
        ("::127.0.0.1", AddressClass::Loopback),
        ("::10.1.2.3", AddressClass::Private),
        ("64:ff9b::a9fe:a9fe", AddressClass::LinkLocal),
        ("64:ff9b::192.168.0.1", AddressClass::Private),
        ("2002:7f00:0001::", AddressClass::Loopback),
        ("2002:0a00:0001::1", AddressClass::Private),
    ] {
        assert_eq!(class_of(text), Some(expected), "{text}");
    }
}

#[test]
fn is_forbidden_address_agrees_with_classification() {
    assert!(is_forbidden_address(IpAddr::V4(Ipv4Addr::LOCALHOST)));
    assert!(is_forbidden_address(IpAddr::V6(Ipv6Addr::LOCALHOST)));
    assert!(!is_forbidden_address(IpAddr::V4(Ipv4Addr::new(8, 8, 8, 8))));
}

#[test]
fn descriptions_read_as_noun_phrases() {
    assert_eq!(AddressClass::Loopback.to_string(), "a loopback address");
    assert_eq!(AddressClass::LinkLocal.to_string(), "a link-local address");
}
