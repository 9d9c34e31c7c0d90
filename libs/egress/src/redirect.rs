//! Turning a redirect response into the next request, the way browsers and reqwest's own policy do.

use std::time::Duration;

use reqwest::header::{HeaderMap, LOCATION};
use reqwest::{Method, Request, Response, StatusCode, Url, Version};

/// Headers that describe a body, dropped when a redirect drops the body.
const BODY_HEADERS: &[&str] = &[
    "content-type",
    "content-length",
    "content-encoding",
    "transfer-encoding",
];

/// Headers that carry credentials or identity for one origin, dropped when a redirect leaves it. Beyond
/// what browsers drop, this includes the API-key headers inference providers use and an explicit `Host`.
const ORIGIN_BOUND_HEADERS: &[&str] = &[
    "authorization",
    "proxy-authorization",
    "cookie",
    "cookie2",
    "x-api-key",
    "api-key",
    "x-goog-api-key",
    "host",
];

/// What following a redirect needs of a request after `execute` has consumed it.
#[derive(Debug)]
pub(crate) struct SentRequest {
    head: RequestHead,
    body: SentBody,
}

/// Everything of a request but its body.
#[derive(Debug)]
struct RequestHead {
    method: Method,
    url: Url,
    headers: HeaderMap,
    version: Version,
    timeout: Option<Duration>,
}

/// Whether the body of a sent request can be sent again for a 307 or 308.
#[derive(Debug)]
enum SentBody {
    /// There was no body.
    Empty,
    /// A copy of the whole request, taken before sending because the body was in memory.
    Replayable(Box<Request>),
    /// The body was a stream and is gone.
    Streamed,
}

impl SentRequest {
    /// Records what a redirect may need of `request`; call it just before sending.
    pub(crate) fn capture(request: &Request) -> SentRequest {
        let body = match (request.body(), request.try_clone()) {
            (None, _) => SentBody::Empty,
            (Some(_), Some(copy)) => SentBody::Replayable(Box::new(copy)),
            (Some(_), None) => SentBody::Streamed,
        };
        let head = RequestHead {
            method: request.method().clone(),
            url: request.url().clone(),
            headers: request.headers().clone(),
            version: request.version(),
            timeout: request.timeout().copied(),
        };
        SentRequest { head, body }
    }

    /// Returns the request to send after `response`, or `None` when the response is the one to return.
    ///
    /// 301, 302 and 303 become a body-less GET (HEAD stays HEAD); 307 and 308 repeat the method and body,
    /// unless the body was a stream. A redirect without a usable `Location` is returned as is, as reqwest
    /// does. The next URL is not checked here; the client checks every hop before sending it.
    pub(crate) fn next_request(self, response: &Response) -> Option<Request> {
        let drops_body = match response.status() {
            StatusCode::MOVED_PERMANENTLY | StatusCode::FOUND | StatusCode::SEE_OTHER => true,
            StatusCode::TEMPORARY_REDIRECT | StatusCode::PERMANENT_REDIRECT => false,
            _ => return None,
        };
        let location = response.headers().get(LOCATION)?.to_str().ok()?;
        let SentRequest { mut head, body } = self;
        let next_url = head.url.join(location).ok()?;
        let crosses_origin = crosses_origin(&head.url, &next_url);
        head.url = next_url;

        let mut next = if drops_body {
            if !matches!(head.method, Method::GET | Method::HEAD) {
                head.method = Method::GET;
            }
            for name in BODY_HEADERS {
                head.headers.remove(*name);
            }
            head.into_request()
        } else {
            match body {
                SentBody::Empty => head.into_request(),
                SentBody::Replayable(mut copy) => {
                    *copy.url_mut() = head.url;
                    *copy
                }
                SentBody::Streamed => return None,
            }
        };
        if crosses_origin {
            for name in ORIGIN_BOUND_HEADERS {
                next.headers_mut().remove(*name);
            }
        }
        Some(next)
    }
}

impl RequestHead {
    fn into_request(self) -> Request {
        let mut request = Request::new(self.method, self.url);
        *request.headers_mut() = self.headers;
        *request.version_mut() = self.version;
        *request.timeout_mut() = self.timeout;
        request
    }
}

/// Returns true when scheme, host or port differ, the same test reqwest uses for dropping credentials.
fn crosses_origin(previous: &Url, next: &Url) -> bool {
    previous.scheme() != next.scheme()
        || previous.host_str() != next.host_str()
        || previous.port_or_known_default() != next.port_or_known_default()
}
