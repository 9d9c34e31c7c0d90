//! `ProxyRequest` and `StreamProxyRequest`: the proxy over gRPC.

use futures::stream::BoxStream;
use futures::{FutureExt, StreamExt, TryStreamExt};
use gpuproxy_domain::UserId;
use gpuproxy_proto::gpuproxy::v1 as public;
use tonic::Status;

use crate::Error;
use crate::data_plane::DataPlane;
use crate::data_plane::{Protocol, ProxyCall, TIMELIMIT_HEADER, shape};

/// Returns the proxied call a message describes; `X-Timelimit` may come as `x-timelimit` metadata.
pub fn call_of(
    plane: &DataPlane,
    message: public::ProxyRequestMessage,
    metadata: &http::HeaderMap,
) -> Result<ProxyCall, Error> {
    let protocol = Protocol::parse(&message.protocol)?;
    let timeout = plane.proxy.time_limit(
        u64::try_from(message.timeout).ok(),
        metadata.get(TIMELIMIT_HEADER.as_str()),
    )?;
    let raw = (!message.body.is_empty()).then_some(message.body);
    let shaped = shape(protocol, Some(message.method.as_str()), None, None, raw)?;
    Ok(ProxyCall {
        target_url: Some(message.target_url).filter(|url| !url.trim().is_empty()),
        path_is_explicit: false,
        shaped,
        headers: message.headers.into_iter().collect(),
        timeout,
    })
}

/// The metadata that asks `StreamProxyRequest` to answer each message in pieces as the upstream
/// sends them (`true`), instead of one complete response per message.
pub const CHUNKS_METADATA: &str = "x-stream-chunks";

/// Answers one message with the whole upstream answer.
pub async fn proxy_once(
    plane: &DataPlane,
    user_id: UserId,
    call: ProxyCall,
) -> Result<public::ProxyResponse, Status> {
    let reply = plane
        .proxy_once(user_id, call)
        .await
        .map_err(Error::into_status)?;
    Ok(whole_answer(reply))
}

/// Answers each message of a stream in turn, in order. By default each message gets exactly one
/// response, with the status, headers and whole body (at most `PROXY_MAX_RESPONSE_BYTES`), as the
/// seed's clients read it. With `x-stream-chunks: true` each answer streams as it arrives instead:
/// its first response carries the status and headers, the next ones body chunks (`status_code` 0).
/// A message that fails is answered with `error` set (and status 0), and the stream goes on.
pub fn stream(
    plane: DataPlane,
    user_id: UserId,
    metadata: http::HeaderMap,
    incoming: tonic::Streaming<public::ProxyRequestMessage>,
) -> BoxStream<'static, Result<public::ProxyResponse, Status>> {
    let chunked = metadata
        .get(CHUNKS_METADATA)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| matches!(value.trim().to_ascii_lowercase().as_str(), "true" | "1" | "yes"));
    incoming
        .and_then(move |message| {
            let plane = plane.clone();
            let metadata = metadata.clone();
            async move {
                Ok(if chunked {
                    answer_in_chunks(plane, user_id, metadata, message).await
                } else {
                    futures::stream::once(answer_whole(plane, user_id, metadata, message).map(Ok)).boxed()
                })
            }
        })
        .try_flatten()
        .boxed()
}

/// One complete response to one message, its failure included.
async fn answer_whole(
    plane: DataPlane,
    user_id: UserId,
    metadata: http::HeaderMap,
    message: public::ProxyRequestMessage,
) -> public::ProxyResponse {
    let answered = match call_of(&plane, message, &metadata) {
        Ok(call) => plane.proxy_once(user_id, call).await,
        Err(error) => Err(error),
    };
    match answered {
        Ok(reply) => whole_answer(reply),
        Err(error) => failure(&error),
    }
}

fn whole_answer(reply: crate::data_plane::ProxyReply) -> public::ProxyResponse {
    public::ProxyResponse {
        status_code: i32::from(reply.status),
        headers: reply.headers.into_iter().collect(),
        body: reply.body.to_vec(),
        error: String::new(),
    }
}

fn failure(error: &Error) -> public::ProxyResponse {
    public::ProxyResponse {
        error: format!("{}: {error}", error.code()),
        ..public::ProxyResponse::default()
    }
}

async fn answer_in_chunks(
    plane: DataPlane,
    user_id: UserId,
    metadata: http::HeaderMap,
    message: public::ProxyRequestMessage,
) -> BoxStream<'static, Result<public::ProxyResponse, Status>> {
    let failed = |error: Error| futures::stream::once(async move { Ok(failure(&error)) }).boxed();
    let call = match call_of(&plane, message, &metadata) {
        Ok(call) => call,
        Err(error) => return failed(error),
    };
    let (response, ticket) = match plane.proxy_open(user_id, &call).await {
        Ok(opened) => opened,
        Err(error) => return failed(error),
    };
    let head = public::ProxyResponse {
        status_code: i32::from(response.status().as_u16()),
        headers: crate::data_plane::forward::response_headers(response.headers())
            .into_iter()
            .collect(),
        body: Vec::new(),
        error: String::new(),
    };
    let deadline = tokio::time::Instant::now() + call.timeout.saturating_sub(ticket.latency());
    // The ticket travels with the body: it reports when the answer ends or the caller drops the stream.
    let chunks = futures::stream::unfold(
        (response.bytes_stream().boxed(), Some(ticket)),
        move |(mut body, ticket)| async move {
            let mut ticket = ticket?;
            let error = match tokio::time::timeout_at(deadline, body.next()).await {
                Ok(Some(Ok(bytes))) => {
                    let chunk = public::ProxyResponse {
                        body: bytes.to_vec(),
                        ..public::ProxyResponse::default()
                    };
                    return Some((Ok(chunk), (body, Some(ticket))));
                }
                Ok(None) => return None,
                Ok(Some(Err(error))) => format!("UPSTREAM_FAILED: the answer broke off: {error}"),
                Err(_) => "TIMEOUT: the time limit passed while the answer streamed".to_owned(),
            };
            ticket.failed();
            let failure = public::ProxyResponse {
                error,
                ..public::ProxyResponse::default()
            };
            Some((Ok(failure), (body, None)))
        },
    );
    futures::stream::once(async move { Ok(head) })
        .chain(chunks)
        .boxed()
}
