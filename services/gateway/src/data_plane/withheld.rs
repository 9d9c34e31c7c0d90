//! The headers a proxy never passes on, one way or the other, and finding them in a header map.

use std::collections::HashSet;
use std::sync::LazyLock;

use http::{HeaderMap, HeaderName};

/// Request headers never forwarded: hop-by-hop ones, the ones the client computes, and the
/// caller's credentials for this gateway, which must never reach an upstream.
static REQUEST_HEADERS: [HeaderName; 14] = [
    http::header::HOST,
    http::header::CONNECTION,
    HeaderName::from_static("keep-alive"),
    HeaderName::from_static("proxy-connection"),
    http::header::PROXY_AUTHORIZATION,
    http::header::TE,
    http::header::TRAILER,
    http::header::TRANSFER_ENCODING,
    http::header::UPGRADE,
    http::header::CONTENT_LENGTH,
    http::header::AUTHORIZATION,
    crate::credentials::API_KEY_HEADER,
    http::header::COOKIE,
    super::TIMELIMIT_HEADER,
];

/// Response headers never passed back (hop-by-hop).
static RESPONSE_HEADERS: [HeaderName; 7] = [
    http::header::CONNECTION,
    HeaderName::from_static("keep-alive"),
    HeaderName::from_static("proxy-connection"),
    http::header::TE,
    http::header::TRAILER,
    http::header::TRANSFER_ENCODING,
    http::header::UPGRADE,
];

/// The request headers never forwarded.
pub static WITHHELD_REQUEST: LazyLock<Withheld> = LazyLock::new(|| Withheld::of(&REQUEST_HEADERS));

/// The response headers never passed back.
pub static WITHHELD_RESPONSE: LazyLock<Withheld> = LazyLock::new(|| Withheld::of(&RESPONSE_HEADERS));

/// A list of withheld headers, to look a header up in.
#[derive(Debug)]
pub struct Withheld {
    names: HashSet<HeaderName, foldhash::fast::FixedState>,
    /// Bit `n` is set when a name is `n` bytes long: most headers are ruled out by their length.
    lengths: u64,
}

impl Withheld {
    fn of(names: &'static [HeaderName]) -> Self {
        Withheld {
            names: names.iter().cloned().collect(),
            lengths: names.iter().fold(0, |lengths, name| lengths | length_bit(name)),
        }
    }

    /// Whether `name` is withheld.
    pub fn contains(&self, name: &HeaderName) -> bool {
        self.find(name).is_some()
    }

    fn find(&self, name: &HeaderName) -> Option<&HeaderName> {
        if self.lengths & length_bit(name) == 0 {
            return None;
        }
        self.names.get(name)
    }
}

fn length_bit(name: &HeaderName) -> u64 {
    u32::try_from(name.as_str().len())
        .ok()
        .and_then(|length| 1u64.checked_shl(length))
        .unwrap_or(0)
}

/// Removes the headers in `withheld` from `headers`. A request or an answer carries a handful of
/// headers, so finding the withheld ones among them costs less than looking each withheld name up.
pub fn withhold(headers: &mut HeaderMap, withheld: &'static Withheld) {
    let mut found: [Option<&'static HeaderName>; 16] = [None; 16];
    let mut count = 0;
    for name in headers.keys() {
        if let Some(hit) = withheld.find(name)
            && count < found.len()
        {
            found[count] = Some(hit);
            count += 1;
        }
    }
    for name in found.iter().flatten() {
        headers.remove(*name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_and_hop_by_hop_headers_are_removed_and_the_rest_kept() {
        let mut headers = HeaderMap::new();
        for name in [
            "x-api-key",
            "authorization",
            "connection",
            "x-timelimit",
            "accept",
            "x-custom",
        ] {
            headers.insert(HeaderName::from_static(name), "v".parse().expect("a value"));
        }
        withhold(&mut headers, &WITHHELD_REQUEST);
        let mut kept: Vec<&str> = headers.keys().map(HeaderName::as_str).collect();
        kept.sort_unstable();
        assert_eq!(kept, ["accept", "x-custom"]);
        assert!(WITHHELD_RESPONSE.contains(&http::header::TRANSFER_ENCODING));
        assert!(!WITHHELD_RESPONSE.contains(&http::header::AUTHORIZATION));
    }
}
