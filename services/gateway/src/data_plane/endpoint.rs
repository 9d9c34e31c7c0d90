//! An instance's plain `http://` endpoint as the streaming route uses it: where to connect, the
//! `Host` to send, the path before the caller's, and the idle connections kept to it. Parsed once
//! per endpoint (`InstanceConnections::endpoint`) rather than for every request.

use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::body::Body;
use http::HeaderValue;

use super::connection::Driven;

/// Connections kept idle per instance at most; more are closed when they come back.
const MAX_IDLE_PER_INSTANCE: usize = 256;
/// An idle connection older than this is closed instead of used (instances' servers commonly drop
/// idle connections after a minute or two; reusing one they dropped would cost a retry).
const IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// An `http://` endpoint (`http://host[:port][/base]`) and its idle connections.
#[derive(Debug)]
pub struct Endpoint {
    /// `host:port` (port 80 when the endpoint names none).
    connect_to: String,
    host: HeaderValue,
    /// The path before the caller's, without a trailing slash (`""` for none).
    base_path: String,
    idle: Mutex<Vec<Idle>>,
}

struct Idle {
    connection: Driven,
    since: Instant,
}

impl std::fmt::Debug for Idle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Idle")
            .field("since", &self.since)
            .finish_non_exhaustive()
    }
}

impl Endpoint {
    /// Parses `base_url`; `None` unless it is `http://` with a host and no credentials, query or
    /// fragment (anything else goes through reqwest).
    pub fn parse(base_url: &str) -> Option<Self> {
        let rest = base_url.strip_prefix("http://")?;
        let (authority, base_path) = rest.find('/').map_or((rest, ""), |slash| rest.split_at(slash));
        let plain =
            !authority.is_empty() && !authority.contains(['@', '?', '#']) && !base_path.contains(['?', '#']);
        if !plain {
            return None;
        }
        let has_port = authority
            .rsplit_once(':')
            .is_some_and(|(_, port)| !port.is_empty() && port.bytes().all(|byte| byte.is_ascii_digit()));
        let connect_to = if has_port {
            authority.to_owned()
        } else {
            format!("{authority}:80")
        };
        Some(Endpoint {
            connect_to,
            host: HeaderValue::from_str(authority).ok()?,
            base_path: base_path.trim_end_matches('/').to_owned(),
            idle: Mutex::default(),
        })
    }

    /// `host:port` to connect to.
    pub fn connect_to(&self) -> &str {
        &self.connect_to
    }

    /// The request for the instance: `parts` with an origin-form URI (the endpoint's base path, one
    /// slash, `path`), the endpoint's `Host` and HTTP/1.1. `None` when `path` makes no valid URI.
    pub fn request(
        &self,
        path: &str,
        mut parts: http::request::Parts,
        body: Body,
    ) -> Option<http::Request<Body>> {
        let path = path.trim_start_matches('/');
        let mut uri = String::with_capacity(self.base_path.len() + 1 + path.len());
        uri.push_str(&self.base_path);
        uri.push('/');
        uri.push_str(path);
        parts.uri = http::Uri::try_from(uri).ok()?;
        // The instance is spoken to over HTTP/1.1 whatever the caller used.
        parts.version = http::Version::HTTP_11;
        parts.headers.insert(http::header::HOST, self.host.clone());
        Some(http::Request::from_parts(parts, body))
    }

    /// Takes the most recently used idle connection younger than [`IDLE_TIMEOUT`].
    pub(super) fn take_idle(&self) -> Option<Driven> {
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        while let Some(taken) = idle.pop() {
            if taken.since.elapsed() <= IDLE_TIMEOUT {
                return Some(taken.connection);
            }
        }
        None
    }

    /// Keeps `connection` for the next request, closing the oldest past [`MAX_IDLE_PER_INSTANCE`]
    /// (the likeliest to have been dropped by the instance).
    pub(super) fn give_back(&self, connection: Driven) {
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        if idle.len() >= MAX_IDLE_PER_INSTANCE {
            idle.remove(0);
        }
        idle.push(Idle {
            connection,
            since: Instant::now(),
        });
    }

    /// Whether no connection is kept idle.
    pub(super) fn has_no_idle(&self) -> bool {
        self.idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::Endpoint;

    fn parts(endpoint: &Endpoint) -> (&str, &str) {
        (endpoint.connect_to(), endpoint.base_path.as_str())
    }

    #[test]
    fn plain_http_endpoints_split_into_where_to_connect_and_the_path_before_the_callers() {
        let endpoint = Endpoint::parse("http://10.1.2.3:8000").expect("plain");
        assert_eq!(parts(&endpoint), ("10.1.2.3:8000", ""));
        assert_eq!(endpoint.host, "10.1.2.3:8000");
        let endpoint = Endpoint::parse("http://gpu.example/v1/").expect("plain");
        assert_eq!(parts(&endpoint), ("gpu.example:80", "/v1"));
        assert_eq!(endpoint.host, "gpu.example");
        assert_eq!(
            Endpoint::parse("http://[::1]:9000").expect("plain").connect_to(),
            "[::1]:9000"
        );
        assert_eq!(
            Endpoint::parse("http://[::1]").expect("plain").connect_to(),
            "[::1]:80"
        );
        assert!(Endpoint::parse("https://10.1.2.3:8443").is_none());
        assert!(Endpoint::parse("http://user:secret@10.1.2.3").is_none());
        assert!(Endpoint::parse("http://").is_none());
    }

    #[test]
    fn a_request_gets_the_base_path_one_slash_the_callers_path_and_the_instances_host() {
        let endpoint = Endpoint::parse("http://gpu.example:8000/v1/").expect("plain");
        let (mut parts, body) = http::Request::get("/ignored")
            .version(http::Version::HTTP_2)
            .body(axum::body::Body::empty())
            .expect("a request")
            .into_parts();
        parts.headers.insert(
            http::header::HOST,
            http::HeaderValue::from_static("gateway.example"),
        );
        let request = endpoint
            .request("//chat/completions?stream=true", parts, body)
            .expect("a request");
        assert_eq!(request.uri(), "/v1/chat/completions?stream=true");
        assert_eq!(request.headers()[http::header::HOST], "gpu.example:8000");
        assert_eq!(request.version(), http::Version::HTTP_11);
    }
}
