//! `/api/v1/gpu/route/{path}`: any method and path, forwarded to one of the caller's instances
//! (picked by the load balancer) without buffering either body, so server-sent events and chunked
//! answers arrive as the instance sends them. `X-Timelimit` bounds the whole exchange.

use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::Body;
use axum::extract::{OriginalUri, Request, State};
use axum::response::Response;
use bytes::Bytes;
use gpuproxy_errors::ErrorCode;
use http::HeaderValue;

use crate::proxy::forward::{WITHHELD_REQUEST_HEADERS, WITHHELD_RESPONSE_HEADERS};
use crate::proxy::{TIMELIMIT_HEADER, Ticket};
use crate::rest::principal::AuthUser;
use crate::{AppState, Error};

/// The response header naming the instance that answered.
pub const INSTANCE_HEADER: &str = "x-gpu-instance";

/// Forwards the request to one of the caller's running instances and streams the answer back.
#[utoipa::path(method(get, post, put, delete, patch), path = "/api/v1/gpu/route/{path}", tag = "gpu",
    params(("path" = String, Path, description = "The path on the instance, e.g. `v1/chat/completions`"),
           ("X-Timelimit" = Option<f64>, Header, description = "Seconds the whole exchange may take")),
    security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 200, description = "The instance's answer, streamed as it arrives (any status it sends)"),
        (status = 502, description = "The instance could not be reached (UPSTREAM_FAILED)", body = crate::error::ErrorBody),
        (status = 503, description = "No running, healthy instance (NO_HEALTHY_INSTANCE)", body = crate::error::ErrorBody),
        (status = 504, description = "No answer within the time limit (TIMEOUT)", body = crate::error::ErrorBody),
    ))]
pub async fn route(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    OriginalUri(original): OriginalUri,
    request: Request,
) -> Result<Response, Error> {
    let time_limit = state
        .proxy
        .time_limit(None, request.headers().get(TIMELIMIT_HEADER))?;
    let deadline = tokio::time::Instant::now() + time_limit;
    // The raw path, still percent-encoded: `org%2Fmodel` must reach the instance as one segment.
    let path = original.path().strip_prefix(ROUTE_PREFIX).unwrap_or("/");
    let path_and_query = match original.query() {
        Some(query) => format!("{path}?{query}"),
        None => path.to_owned(),
    };
    let user_id = user.user_id.to_string();
    let picked = state.pick(&user_id).await?;
    let ticket = state.picked_ticket(picked.instance_id.clone());
    // After the ticket: a refused charge drops it, which releases the balancer's in-flight count.
    state.charge_request(&user_id, "routed request").await?;
    // One timer bounds both the wait for the head and the body's streaming.
    let mut timer = Box::pin(tokio::time::sleep_until(deadline));
    let (parts, body) = request.into_parts();
    match PlainHttp::parse(&picked.base_url) {
        Some(endpoint) => {
            let upstream = endpoint.request(&path_and_query, parts, body)?;
            let connect_to = endpoint.connect_to();
            let sending = state.proxy.instances.send(&connect_to, upstream);
            let answer = within(&mut timer, sending).await.map(|sent| {
                sent.map_err(|error| {
                    Error::new(
                        ErrorCode::UpstreamFailed,
                        format!("the instance could not be reached: {error}"),
                    )
                })
            });
            relay(answer, ticket, &picked.instance_id, timer, time_limit)
        }
        None => {
            let url = crate::proxy::join(&picked.base_url, &path_and_query)
                .ok_or_else(|| Error::new(ErrorCode::Internal, "an instance's endpoint is not a URL"))?;
            let mut upstream = reqwest::Request::new(parts.method, url);
            copy_request_headers(&parts.headers, upstream.headers_mut());
            // A request without a body is sent without one: a streamed empty body would go out chunked.
            if axum::body::HttpBody::size_hint(&body).exact() != Some(0) {
                *upstream.body_mut() = Some(reqwest::Body::wrap_stream(body.into_data_stream()));
            }
            let answer = match within(&mut timer, state.proxy.direct.execute(upstream)).await {
                Some(Ok(answer)) => Some(Ok(http::Response::from(answer))),
                Some(Err(error)) => Some(Err(crate::proxy::forward::egress_error(
                    gpuproxy_egress::EgressError::Request(error),
                ))),
                None => None,
            };
            relay(answer, ticket, &picked.instance_id, timer, time_limit)
        }
    }
}

/// Runs `future` until it ends or `timer` fires (`None`).
async fn within<T>(timer: &mut Pin<Box<tokio::time::Sleep>>, future: impl Future<Output = T>) -> Option<T> {
    tokio::select! {
        biased;
        output = future => Some(output),
        () = timer.as_mut() => None,
    }
}

/// Streams the instance's answer back with the ticket riding on its body, or answers why there is
/// none (`None`: the time limit passed first).
fn relay<B>(
    sent: Option<Result<http::Response<B>, Error>>,
    mut ticket: Ticket,
    instance_id: &str,
    timer: Pin<Box<tokio::time::Sleep>>,
    time_limit: std::time::Duration,
) -> Result<Response, Error>
where
    B: hyper::body::Body<Data = Bytes> + Unpin + Send + 'static,
    B::Error: Into<axum::BoxError>,
{
    let answer = match sent {
        Some(Ok(answer)) => answer,
        Some(Err(error)) => {
            ticket.failed();
            return Err(error);
        }
        None => {
            ticket.failed();
            return Err(Error::new(
                ErrorCode::Timeout,
                format!(
                    "the instance did not answer within {:.1}s",
                    time_limit.as_secs_f64()
                ),
            ));
        }
    };
    ticket.answered(answer.status());
    let (mut head, inner) = answer.into_parts();
    for name in WITHHELD_RESPONSE_HEADERS {
        head.headers.remove(*name);
    }
    if let Ok(value) = HeaderValue::from_str(instance_id) {
        head.headers.insert(INSTANCE_HEADER, value);
    }
    let body = Streamed {
        inner,
        deadline: timer,
        ticket: Some(ticket),
    };
    Ok(Response::from_parts(head, Body::new(body)))
}

/// An `http://` endpoint, sent to over the pooled connections: `host[:port]` and the path before
/// the caller's. Endpoints with a scheme, credentials or anything else go through reqwest.
struct PlainHttp<'a> {
    authority: &'a str,
    base_path: &'a str,
}

impl<'a> PlainHttp<'a> {
    fn parse(base_url: &'a str) -> Option<Self> {
        let rest = base_url.strip_prefix("http://")?;
        let (authority, base_path) = rest.find('/').map_or((rest, ""), |slash| rest.split_at(slash));
        let plain =
            !authority.is_empty() && !authority.contains(['@', '?', '#']) && !base_path.contains(['?', '#']);
        plain.then_some(PlainHttp {
            authority,
            base_path: base_path.trim_end_matches('/'),
        })
    }

    /// `host:port` to connect to (port 80 when the endpoint names none).
    fn connect_to(&self) -> String {
        let has_port = self
            .authority
            .rsplit_once(':')
            .is_some_and(|(_, port)| !port.is_empty() && port.bytes().all(|byte| byte.is_ascii_digit()));
        if has_port {
            self.authority.to_owned()
        } else {
            format!("{}:80", self.authority)
        }
    }

    /// The request for the instance: an origin-form URI, its own `Host`, the caller's passable headers.
    fn request(
        &self,
        path_and_query: &str,
        parts: http::request::Parts,
        body: Body,
    ) -> Result<http::Request<Body>, Error> {
        let unusable = || Error::new(ErrorCode::Internal, "an instance's endpoint is not a usable URL");
        let host = HeaderValue::from_str(self.authority).map_err(|_| unusable())?;
        let path = path_and_query.trim_start_matches('/');
        let mut upstream = http::Request::builder()
            .method(parts.method)
            .uri(format!("{}/{path}", self.base_path))
            .body(body)
            .map_err(|_| unusable())?;
        copy_request_headers(&parts.headers, upstream.headers_mut());
        upstream.headers_mut().insert(http::header::HOST, host);
        Ok(upstream)
    }
}

fn copy_request_headers(from: &http::HeaderMap, to: &mut http::HeaderMap) {
    for (name, value) in from {
        if !WITHHELD_REQUEST_HEADERS.contains(&name.as_str()) {
            to.append(name.clone(), value.clone());
        }
    }
}

/// The route's prefix in the original URI.
const ROUTE_PREFIX: &str = "/api/v1/gpu/route";

/// The route's template.
pub const ROUTE_PATH: &str = "/api/v1/gpu/route/{*path}";

/// The instance's body, passed through frame by frame (its length, when known, too) and cut at
/// the deadline. Its ticket tells the load balancer about the exchange when the body ends, however
/// it ends (done, broken, timed out, or the caller went away).
struct Streamed<B> {
    inner: B,
    deadline: Pin<Box<tokio::time::Sleep>>,
    ticket: Option<Ticket>,
}

impl<B> hyper::body::Body for Streamed<B>
where
    B: hyper::body::Body<Data = Bytes> + Unpin,
    B::Error: Into<axum::BoxError>,
{
    type Data = Bytes;
    type Error = axum::BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        context: &mut Context<'_>,
    ) -> Poll<Option<Result<hyper::body::Frame<Bytes>, axum::BoxError>>> {
        let this = self.get_mut();
        let Some(ticket) = this.ticket.as_mut() else {
            return Poll::Ready(None);
        };
        if this.deadline.as_mut().poll(context).is_ready() {
            ticket.failed();
            this.ticket = None;
            return Poll::Ready(Some(Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "the time limit passed while the answer streamed",
            )
            .into())));
        }
        match Pin::new(&mut this.inner).poll_frame(context) {
            Poll::Ready(Some(Ok(frame))) => Poll::Ready(Some(Ok(frame))),
            Poll::Ready(Some(Err(error))) => {
                ticket.failed();
                this.ticket = None;
                Poll::Ready(Some(Err(error.into())))
            }
            Poll::Ready(None) => {
                this.ticket = None;
                Poll::Ready(None)
            }
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.ticket.is_none() || self.inner.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::PlainHttp;

    #[test]
    fn plain_http_endpoints_split_into_where_to_connect_and_the_path_before_the_callers() {
        let endpoint = PlainHttp::parse("http://10.1.2.3:8000").expect("plain");
        assert_eq!((endpoint.authority, endpoint.base_path), ("10.1.2.3:8000", ""));
        assert_eq!(endpoint.connect_to(), "10.1.2.3:8000");
        let endpoint = PlainHttp::parse("http://gpu.example/v1/").expect("plain");
        assert_eq!((endpoint.authority, endpoint.base_path), ("gpu.example", "/v1"));
        assert_eq!(endpoint.connect_to(), "gpu.example:80");
        assert_eq!(
            PlainHttp::parse("http://[::1]:9000").expect("plain").connect_to(),
            "[::1]:9000"
        );
        assert_eq!(
            PlainHttp::parse("http://[::1]").expect("plain").connect_to(),
            "[::1]:80"
        );
        assert!(PlainHttp::parse("https://10.1.2.3:8443").is_none());
        assert!(PlainHttp::parse("http://user:secret@10.1.2.3").is_none());
        assert!(PlainHttp::parse("http://").is_none());
    }
}
