//! `/api/v1/gpu/route/{path}`: any method and path, forwarded to one of the caller's instances
//! (picked by the load balancer) without buffering either body, so server-sent events and chunked
//! answers arrive as the instance sends them. `X-Timelimit` bounds the whole exchange.

use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::Body;
use axum::extract::{OriginalUri, Request, State};
use axum::response::Response;
use bytes::Bytes;
use futures::Stream;
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
    let target = state.pick_instance(&user_id, &path_and_query).await?;
    let mut ticket = state.ticket(&target);
    // After the ticket: a refused charge drops it, which releases the balancer's in-flight count.
    state.charge_request(&user_id, "routed request").await?;
    let (parts, body) = request.into_parts();
    let mut upstream = reqwest::Request::new(parts.method, target.url.clone());
    for (name, value) in &parts.headers {
        if !WITHHELD_REQUEST_HEADERS.contains(&name.as_str()) {
            upstream.headers_mut().append(name.clone(), value.clone());
        }
    }
    // A request without a body is sent without one: a streamed empty body would go out chunked.
    if axum::body::HttpBody::size_hint(&body).exact() != Some(0) {
        *upstream.body_mut() = Some(reqwest::Body::wrap_stream(body.into_data_stream()));
    }
    let sent = tokio::time::timeout_at(deadline, state.proxy.direct.execute(upstream)).await;
    let answer = match sent {
        Ok(Ok(answer)) => answer,
        Ok(Err(error)) => {
            ticket.failed();
            return Err(crate::proxy::forward::egress_error(
                gpuproxy_egress::EgressError::Request(error),
            ));
        }
        Err(_) => {
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
    let mut response = Response::builder().status(answer.status().as_u16());
    if let Some(headers) = response.headers_mut() {
        for (name, value) in answer.headers() {
            if !WITHHELD_RESPONSE_HEADERS.contains(&name.as_str()) {
                headers.append(name.clone(), value.clone());
            }
        }
        if let Some(instance_id) = &target.instance_id
            && let Ok(value) = HeaderValue::from_str(instance_id)
        {
            headers.insert(INSTANCE_HEADER, value);
        }
    }
    let body = Streamed {
        inner: Box::pin(answer.bytes_stream()),
        deadline: Box::pin(tokio::time::sleep_until(deadline)),
        ticket: Some(ticket),
    };
    response.body(Body::from_stream(body)).map_err(|error| {
        Error::new(
            ErrorCode::Internal,
            format!("building the streamed answer failed: {error}"),
        )
    })
}

/// The route's prefix in the original URI.
const ROUTE_PREFIX: &str = "/api/v1/gpu/route";

/// The instance's body, passed through chunk by chunk and cut at the deadline. Its ticket tells the
/// load balancer about the exchange when the body ends, however it ends (done, broken, timed out,
/// or the caller went away).
struct Streamed {
    inner: Pin<Box<dyn Stream<Item = Result<Bytes, reqwest::Error>> + Send>>,
    deadline: Pin<Box<tokio::time::Sleep>>,
    ticket: Option<Ticket>,
}

impl Stream for Streamed {
    type Item = Result<Bytes, std::io::Error>;

    fn poll_next(self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<Option<Self::Item>> {
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
            ))));
        }
        match this.inner.as_mut().poll_next(context) {
            Poll::Ready(Some(Ok(chunk))) => Poll::Ready(Some(Ok(chunk))),
            Poll::Ready(Some(Err(error))) => {
                ticket.failed();
                this.ticket = None;
                Poll::Ready(Some(Err(std::io::Error::other(error))))
            }
            Poll::Ready(None) => {
                this.ticket = None;
                Poll::Ready(None)
            }
            Poll::Pending => Poll::Pending,
        }
    }
}
