//! `ProxyRequest` and `StreamProxyRequest`: the proxy over gRPC.

use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
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

/// Answers one message with the whole upstream answer.
pub async fn proxy_once(
    plane: &DataPlane,
    user_id: &str,
    call: ProxyCall,
) -> Result<public::ProxyResponse, Status> {
    let reply = plane
        .proxy_once(user_id, call)
        .await
        .map_err(Error::into_status)?;
    Ok(public::ProxyResponse {
        status_code: i32::from(reply.status),
        headers: reply.headers.into_iter().collect(),
        body: reply.body.to_vec(),
        error: String::new(),
    })
}

/// Answers each message of a stream in turn, streaming each upstream answer as it arrives: the first
/// response of an answer carries its status and headers, the next ones body chunks. A message that
/// fails is answered with `error` set, and the stream goes on with the next.
pub fn stream(
    plane: DataPlane,
    user_id: String,
    metadata: http::HeaderMap,
    incoming: tonic::Streaming<public::ProxyRequestMessage>,
) -> BoxStream<'static, Result<public::ProxyResponse, Status>> {
    incoming
        .map_err(|status| status)
        .and_then(move |message| {
            let plane = plane.clone();
            let user_id = user_id.clone();
            let metadata = metadata.clone();
            async move { Ok(answer(plane, user_id, metadata, message).await) }
        })
        .try_flatten()
        .boxed()
}

async fn answer(
    plane: DataPlane,
    user_id: String,
    metadata: http::HeaderMap,
    message: public::ProxyRequestMessage,
) -> BoxStream<'static, Result<public::ProxyResponse, Status>> {
    let failed = |error: Error| {
        futures::stream::once(async move {
            Ok(public::ProxyResponse {
                status_code: 0,
                headers: Default::default(),
                body: Vec::new(),
                error: format!("{}: {error}", error.code()),
            })
        })
        .boxed()
    };
    let call = match call_of(&plane, message, &metadata) {
        Ok(call) => call,
        Err(error) => return failed(error),
    };
    let (response, ticket) = match plane.proxy_open(&user_id, &call).await {
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
