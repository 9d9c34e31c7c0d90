//! CORS: which browser origins may call the API, what they may send and what they may read.
//!
//! The router answers preflights and marks answers with tower-http's layer. The streaming route
//! (`rest/dispatch.rs`) sends its preflights to the router too and marks its own answers with
//! [`CorsPolicy::mark`], which adds the same headers from values made once, and none to a request
//! without an `Origin` (no browser is reading it): tower-http's layer is cloned, and its `Vary`
//! rendered, for every request, and the route is where that shows.

use axum::extract::Request;
use http::header::{ACCESS_CONTROL_ALLOW_ORIGIN, ACCESS_CONTROL_EXPOSE_HEADERS, VARY};
use http::{HeaderMap, HeaderName, HeaderValue, Method};
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::config::CorsOrigins;

const fn header(name: &'static str) -> HeaderName {
    HeaderName::from_static(name)
}

/// Headers a browser may send.
const ALLOWED_HEADERS: [HeaderName; 9] = [
    http::header::AUTHORIZATION,
    http::header::CONTENT_TYPE,
    header("x-api-key"),
    header("x-request-id"),
    header("x-preferred-payment"),
    header("x-billing"),
    header("x-timelimit"),
    header("x-rate-limit-override"),
    header("idempotency-key"),
];

/// Headers a browser may read.
const EXPOSED_HEADERS: [HeaderName; 5] = [
    header("x-request-id"),
    header("x-ratelimit-limit"),
    header("x-ratelimit-remaining"),
    header("x-ratelimit-reset"),
    http::header::RETRY_AFTER,
];

/// The origins allowed, as configured, and the headers their answers get.
#[derive(Debug)]
pub struct CorsPolicy {
    origins: Origins,
    exposed: HeaderValue,
    vary: HeaderValue,
}

#[derive(Debug)]
enum Origins {
    Any,
    List(Vec<HeaderValue>),
}

impl CorsPolicy {
    /// The policy for `CORS_ALLOWED_ORIGINS`.
    pub fn new(origins: &CorsOrigins) -> Self {
        let origins = match origins {
            CorsOrigins::Any => Origins::Any,
            CorsOrigins::List(list) => Origins::List(
                list.iter()
                    .filter_map(|origin| HeaderValue::from_str(origin).ok())
                    .collect(),
            ),
        };
        let exposed = EXPOSED_HEADERS
            .iter()
            .map(HeaderName::as_str)
            .collect::<Vec<_>>()
            .join(",");
        CorsPolicy {
            origins,
            exposed: HeaderValue::from_str(&exposed).unwrap_or_else(|_| HeaderValue::from_static("")),
            vary: HeaderValue::from_static(
                "origin, access-control-request-method, access-control-request-headers",
            ),
        }
    }

    /// tower-http's layer for the router: preflights answered, answers marked.
    pub fn layer(&self) -> CorsLayer {
        let allow_origin = match &self.origins {
            Origins::Any => AllowOrigin::any(),
            Origins::List(list) => AllowOrigin::list(list.iter().cloned()),
        };
        CorsLayer::new()
            .allow_origin(allow_origin)
            .allow_methods([
                Method::GET,
                Method::POST,
                Method::PUT,
                Method::DELETE,
                Method::PATCH,
                Method::OPTIONS,
            ])
            .allow_headers(ALLOWED_HEADERS)
            .expose_headers(EXPOSED_HEADERS)
            .max_age(std::time::Duration::from_secs(600))
    }

    /// Marks the answer to an actual (not preflight) request from `origin` as tower-http's layer
    /// would; a request with no `Origin` gets only the `Vary` a list of origins needs (a cache must
    /// not hand a browser an answer made for another origin).
    pub fn mark(&self, origin: Option<&HeaderValue>, headers: &mut HeaderMap) {
        let allowed = match (&self.origins, origin) {
            (Origins::Any, Some(_)) => Some(HeaderValue::from_static("*")),
            (Origins::List(list), Some(origin)) => list.contains(origin).then(|| origin.clone()),
            (Origins::Any, None) => return,
            (Origins::List(_), None) => None,
        };
        headers.append(VARY, self.vary.clone());
        if let Some(allowed) = allowed {
            headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, allowed);
            headers.insert(ACCESS_CONTROL_EXPOSE_HEADERS, self.exposed.clone());
        }
    }
}

/// Whether `request` is a CORS preflight (answered by the router's layer).
pub fn is_preflight(request: &Request) -> bool {
    request.method() == Method::OPTIONS
        && request
            .headers()
            .contains_key(http::header::ACCESS_CONTROL_REQUEST_METHOD)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn marked(origins: &CorsOrigins, origin: Option<&'static str>) -> HeaderMap {
        let mut headers = HeaderMap::new();
        CorsPolicy::new(origins).mark(origin.map(HeaderValue::from_static).as_ref(), &mut headers);
        headers
    }

    #[test]
    fn any_origin_is_allowed_and_a_request_without_one_gets_nothing() {
        let headers = marked(&CorsOrigins::Any, Some("https://app.example.com"));
        assert_eq!(headers[ACCESS_CONTROL_ALLOW_ORIGIN], "*");
        assert_eq!(
            headers[ACCESS_CONTROL_EXPOSE_HEADERS],
            "x-request-id,x-ratelimit-limit,x-ratelimit-remaining,x-ratelimit-reset,retry-after"
        );
        assert!(headers.contains_key(VARY));
        assert!(marked(&CorsOrigins::Any, None).is_empty());
    }

    #[test]
    fn a_listed_origin_is_echoed_and_others_are_not_allowed() {
        let list = CorsOrigins::List(vec!["https://app.example.com".to_owned()]);
        let headers = marked(&list, Some("https://app.example.com"));
        assert_eq!(headers[ACCESS_CONTROL_ALLOW_ORIGIN], "https://app.example.com");
        let headers = marked(&list, Some("https://evil.example"));
        assert!(!headers.contains_key(ACCESS_CONTROL_ALLOW_ORIGIN));
        assert!(headers.contains_key(VARY));
        let headers = marked(&list, None);
        assert!(!headers.contains_key(ACCESS_CONTROL_ALLOW_ORIGIN));
        assert!(headers.contains_key(VARY), "a cache must tell origins apart");
    }
}
