//! Who is calling, by network address, for REST and gRPC alike.

use std::net::{IpAddr, SocketAddr};

use axum::extract::ConnectInfo;
use http::{Extensions, HeaderMap};
use tonic::transport::server::{TcpConnectInfo, TlsConnectInfo};

/// Returns the caller's address: the connection's peer (as axum or tonic recorded it), or, when
/// `trust_forwarded_for` is set (the gateway runs behind a proxy), the last address in
/// `X-Forwarded-For`, which the nearest proxy appended and the client cannot forge. `None` when
/// neither is known (a request without a socket).
pub fn client_address(
    headers: &HeaderMap,
    extensions: &Extensions,
    trust_forwarded_for: bool,
) -> Option<IpAddr> {
    if trust_forwarded_for
        && let Some(address) = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .filter_map(|address| address.trim().parse::<IpAddr>().ok())
            .next_back()
    {
        return Some(address);
    }
    extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(address)| *address)
        .or_else(|| {
            extensions
                .get::<TcpConnectInfo>()
                .and_then(TcpConnectInfo::remote_addr)
        })
        .or_else(|| {
            extensions
                .get::<TlsConnectInfo<TcpConnectInfo>>()
                .and_then(|info| info.get_ref().remote_addr())
        })
        .map(|address| address.ip())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(forwarded: &str) -> (HeaderMap, Extensions) {
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", forwarded.parse().expect("value"));
        let mut extensions = Extensions::new();
        extensions.insert(ConnectInfo(SocketAddr::from(([10, 0, 0, 1], 4000))));
        (headers, extensions)
    }

    #[test]
    fn the_forwarded_address_is_used_only_when_trusted() {
        let (headers, extensions) = parts("203.0.113.9, 198.51.100.7");
        assert_eq!(
            client_address(&headers, &extensions, true),
            "198.51.100.7".parse().ok()
        );
        assert_eq!(
            client_address(&headers, &extensions, false),
            "10.0.0.1".parse().ok()
        );
    }

    #[test]
    fn a_garbage_forwarded_header_falls_back_to_the_connection() {
        let (headers, extensions) = parts("not an address");
        assert_eq!(
            client_address(&headers, &extensions, true),
            "10.0.0.1".parse().ok()
        );
    }
}
