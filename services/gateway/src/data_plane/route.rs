//! `/api/v1/gpu/route/{path}`: any method and path, forwarded to one of the caller's instances
//! (picked by the load balancer) without buffering either body, so server-sent events and chunked
//! answers arrive as the instance sends them. `X-Timelimit` bounds the whole exchange.

use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::Body;
use axum::extract::Request;
use axum::response::Response;
use bytes::Bytes;
use gpuproxy_errors::ErrorCode;
use http::{HeaderName, HeaderValue};

use crate::Error;
use crate::data_plane::DataPlane;
use crate::data_plane::{TIMELIMIT_HEADER, Ticket};
use crate::data_plane::{WITHHELD_REQUEST, WITHHELD_RESPONSE, withhold};
use crate::rest::principal::AuthUser;

/// The response header naming the instance that answered.
pub const INSTANCE_HEADER: HeaderName = HeaderName::from_static("x-gpu-instance");

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
pub async fn route(plane: &DataPlane, request: Request) -> Result<Response, Error> {
    let AuthUser(user) = AuthUser::of(request.extensions())?;
    let time_limit = plane
        .proxy
        .time_limit(None, request.headers().get(TIMELIMIT_HEADER))?;
    let deadline = tokio::time::Instant::now() + time_limit;
    let user_id = user.user_id;
    let picked = plane.pick(user_id).await?;
    let ticket = plane.picked_ticket(picked.instance_id.clone());
    // After the ticket: a refused charge drops it, which releases the balancer's in-flight count.
    plane.charge_request(user_id, "routed request").await?;
    // One timer bounds both the wait for the head and the body's streaming.
    let mut timer = Box::pin(tokio::time::sleep_until(deadline));
    let (mut parts, body) = request.into_parts();
    match plane.proxy.instances.endpoint(&picked.base_url) {
        Some(endpoint) => {
            withhold(&mut parts.headers, &WITHHELD_REQUEST);
            let uri = std::mem::take(&mut parts.uri);
            let upstream = endpoint
                .request(instance_path(&uri), parts, body)
                .ok_or_else(|| {
                    Error::new(ErrorCode::Internal, "an instance's endpoint is not a usable URL")
                })?;
            let sending = std::pin::pin!(plane.proxy.instances.send(&endpoint, upstream));
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
            let url = crate::data_plane::join(&picked.base_url, instance_path(&parts.uri))
                .ok_or_else(|| Error::new(ErrorCode::Internal, "an instance's endpoint is not a URL"))?;
            let mut upstream = reqwest::Request::new(parts.method, url);
            *upstream.headers_mut() = parts.headers;
            withhold(upstream.headers_mut(), &WITHHELD_REQUEST);
            // A request without a body is sent without one: a streamed empty body would go out chunked.
            if axum::body::HttpBody::size_hint(&body).exact() != Some(0) {
                *upstream.body_mut() = Some(reqwest::Body::wrap_stream(body.into_data_stream()));
            }
            let sending = std::pin::pin!(plane.proxy.direct.execute(upstream));
            let answer = match within(&mut timer, sending).await {
                Some(Ok(answer)) => Some(Ok(http::Response::from(answer))),
                Some(Err(error)) => Some(Err(crate::data_plane::forward::egress_error(
                    gpuproxy_egress::EgressError::Request(error),
                ))),
                None => None,
            };
            relay(answer, ticket, &picked.instance_id, timer, time_limit)
        }
    }
}

/// The instance's part of the route's URI: the path after the route's prefix and the query, still
/// percent-encoded (`org%2Fmodel` must reach the instance as one segment).
fn instance_path(uri: &http::Uri) -> &str {
    let path_and_query = uri.path_and_query().map_or("/", http::uri::PathAndQuery::as_str);
    match path_and_query.strip_prefix(ROUTE_PREFIX) {
        Some(rest) if rest.starts_with('/') => rest,
        _ => "/",
    }
}

/// Runs `future` until it ends or `timer` fires (`None`). Both are polled where they are, not
/// moved into a future of this function's.
fn within<'a, F: Future>(
    timer: &'a mut Pin<Box<tokio::time::Sleep>>,
    mut future: Pin<&'a mut F>,
) -> impl Future<Output = Option<F::Output>> + 'a {
    std::future::poll_fn(move |context| {
        if let Poll::Ready(output) = future.as_mut().poll(context) {
            return Poll::Ready(Some(output));
        }
        match timer.as_mut().poll(context) {
            Poll::Ready(()) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    })
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
    withhold(&mut head.headers, &WITHHELD_RESPONSE);
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

/// The route's prefix: everything under it (`/api/v1/gpu/route/…`) is forwarded.
pub const ROUTE_PREFIX: &str = "/api/v1/gpu/route";

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
