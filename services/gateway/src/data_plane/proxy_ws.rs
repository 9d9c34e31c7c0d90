//! `GET /api/v1/gpu/proxy/ws`: proxying over a WebSocket, for inference answers that stream. Each
//! text message is a request shaped like `POST /gpu/proxy`'s body; its answer comes back as
//! `{"type": "response.start", "status_code", "headers", "instance_id"}`, then one
//! `{"type": "response.chunk", "data"}` per chunk as the upstream sends it, then
//! `{"type": "response.end"}`. A bad request gets `{"type": "error", "code", "error"}` and the
//! socket stays open for the next one. Requests on one socket are answered in turn.

use axum::extract::State;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::http::HeaderMap;
use axum::response::Response;
use futures::StreamExt;
use gpuproxy_domain::UserId;
use serde_json::{Value, json};

use crate::data_plane::proxy_route::ProxyRequestDto;
use crate::data_plane::{ProxyCall, TIMELIMIT_HEADER};
use crate::rest::principal::AuthUser;
use crate::{AppState, Error};

/// The close code for a message that is not text JSON (RFC 6455: unsupported data).
const UNSUPPORTED_DATA: u16 = 1003;

/// The close code once the credentials no longer admit the caller (RFC 6455: policy violation).
const POLICY_VIOLATION: u16 = 1008;

/// How long one message to the client may take to send before the client counts as gone.
const SEND_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// Upgrades to a WebSocket that proxies requests and streams their answers. The credentials of the
/// upgrade are checked again for every request (a revoked key or an expired token ends the socket),
/// and every request counts against the caller's rate limit, as a REST request would.
#[utoipa::path(get, path = "/api/v1/gpu/proxy/ws", tag = "gpu",
    security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 101, description = "Switching to the WebSocket protocol"),
        (status = 400, description = "Not a WebSocket upgrade (MALFORMED_REQUEST)", body = crate::error::ErrorBody),
    ))]
pub async fn proxy_ws(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    headers: HeaderMap,
    connect_info: Result<
        axum::extract::ConnectInfo<std::net::SocketAddr>,
        axum::extract::rejection::ExtensionRejection,
    >,
    upgrade: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> Result<Response, Error> {
    let upgrade = upgrade.map_err(|rejection| {
        Error::new(
            gpuproxy_errors::ErrorCode::MalformedRequest,
            format!("expected a WebSocket upgrade: {rejection}"),
        )
    })?;
    let mut extensions = http::Extensions::new();
    if let Ok(connect_info) = connect_info {
        extensions.insert(connect_info);
    }
    let caller = Caller {
        user_id: user.user_id,
        headers,
        extensions,
    };
    Ok(upgrade
        .max_message_size(state.max_body_bytes)
        .on_upgrade(move |socket| serve(state, caller, socket)))
}

/// Who opened the socket, kept to admit each of its requests.
struct Caller {
    user_id: UserId,
    headers: HeaderMap,
    extensions: http::Extensions,
}

async fn serve(state: AppState, caller: Caller, mut socket: WebSocket) {
    while let Some(Ok(message)) = socket.recv().await {
        let text = match message {
            Message::Text(text) => text,
            Message::Ping(_) | Message::Pong(_) => continue,
            Message::Close(_) => return,
            Message::Binary(_) => {
                close(
                    &mut socket,
                    UNSUPPORTED_DATA,
                    "send requests as JSON text messages",
                )
                .await;
                return;
            }
        };
        match state.gatekeeper.admit(&caller.headers, &caller.extensions).await {
            Ok(Some(admission)) if admission.principal.user_id == caller.user_id => {
                if admission.decision.is_some_and(|decision| !decision.allowed) {
                    let limited = Error::new(
                        gpuproxy_errors::ErrorCode::RateLimited,
                        "too many requests; slow down",
                    );
                    if send_json(&mut socket, &error_message(&limited)).await.is_err() {
                        return;
                    }
                    continue;
                }
            }
            Ok(_) | Err(_) => {
                close(
                    &mut socket,
                    POLICY_VIOLATION,
                    "the credentials no longer admit this caller",
                )
                .await;
                return;
            }
        }
        let time_limit = caller.headers.get(TIMELIMIT_HEADER);
        let call = serde_json::from_str::<ProxyRequestDto>(text.as_str())
            .map_err(|error| {
                Error::new(
                    gpuproxy_errors::ErrorCode::MalformedRequest,
                    format!("not a proxy request: {error}"),
                )
            })
            .and_then(|request| request.into_call(&state.data_plane, time_limit));
        let sent = match call {
            Ok(call) => answer(&state, caller.user_id, &call, &mut socket).await,
            Err(error) => send_json(&mut socket, &error_message(&error)).await,
        };
        if sent.is_err() {
            return;
        }
    }
}

async fn close(socket: &mut WebSocket, code: u16, reason: &'static str) {
    let frame = CloseFrame {
        code,
        reason: reason.into(),
    };
    let _ = tokio::time::timeout(SEND_TIMEOUT, socket.send(Message::Close(Some(frame)))).await;
}

/// Streams one answer; `Err` means the socket is gone.
async fn answer(
    state: &AppState,
    user_id: UserId,
    call: &ProxyCall,
    socket: &mut WebSocket,
) -> Result<(), SocketGone> {
    let (response, mut ticket) = match state.data_plane.proxy_open(user_id, call).await {
        Ok(opened) => opened,
        Err(error) => return send_json(socket, &error_message(&error)).await,
    };
    let start = json!({
        "type": "response.start",
        "status_code": response.status().as_u16(),
        "headers": crate::data_plane::forward::response_headers(response.headers()),
        "instance_id": ticket.instance_id(),
    });
    send_json(socket, &start).await?;
    let deadline = tokio::time::Instant::now() + call.timeout.saturating_sub(ticket.latency());
    let mut body = response.bytes_stream();
    // Text is sent whole characters at a time: a character split between two chunks waits for the rest.
    let mut pending: Vec<u8> = Vec::new();
    loop {
        let chunk = match tokio::time::timeout_at(deadline, body.next()).await {
            Err(_) => {
                ticket.failed();
                return send_json(socket, &json!({"type": "error", "code": "TIMEOUT", "error": "the time limit passed while the answer streamed"})).await;
            }
            Ok(None) => {
                if !pending.is_empty() {
                    let rest = String::from_utf8_lossy(&pending).into_owned();
                    send_json(socket, &json!({"type": "response.chunk", "data": rest})).await?;
                }
                return send_json(socket, &json!({"type": "response.end"})).await;
            }
            Ok(Some(Err(error))) => {
                ticket.failed();
                return send_json(socket, &json!({"type": "error", "code": "UPSTREAM_FAILED", "error": format!("the answer broke off: {error}")})).await;
            }
            Ok(Some(Ok(chunk))) => chunk,
        };
        pending.extend_from_slice(&chunk);
        let text = whole_characters(&mut pending);
        if !text.is_empty() {
            send_json(socket, &json!({"type": "response.chunk", "data": text})).await?;
        }
    }
}

/// Takes the longest prefix of `pending` that is whole UTF-8 characters (invalid bytes become
/// U+FFFD), leaving an incomplete last character for the next chunk.
fn whole_characters(pending: &mut Vec<u8>) -> String {
    let cut = match std::str::from_utf8(pending) {
        Ok(_) => pending.len(),
        Err(error) if error.error_len().is_none() => error.valid_up_to(),
        Err(_) => pending.len(),
    };
    let rest = pending.split_off(cut);
    let text = String::from_utf8_lossy(pending).into_owned();
    *pending = rest;
    text
}

fn error_message(error: &Error) -> Value {
    json!({"type": "error", "code": error.code().as_str(), "error": error.to_string()})
}

/// The client closed the socket, or stopped reading for `SEND_TIMEOUT`.
#[derive(Debug)]
struct SocketGone;

async fn send_json(socket: &mut WebSocket, value: &Value) -> Result<(), SocketGone> {
    match tokio::time::timeout(SEND_TIMEOUT, socket.send(Message::Text(value.to_string().into()))).await {
        Ok(Ok(())) => Ok(()),
        _ => Err(SocketGone),
    }
}

#[cfg(test)]
mod tests {
    use super::whole_characters;

    #[test]
    fn a_character_split_between_chunks_waits_for_its_rest() {
        let word = "héllo🙂".as_bytes();
        let mut pending = word[..2].to_vec();
        assert_eq!(whole_characters(&mut pending), "h");
        pending.extend_from_slice(&word[2..word.len() - 1]);
        assert_eq!(whole_characters(&mut pending), "éllo");
        pending.extend_from_slice(&word[word.len() - 1..]);
        assert_eq!(whole_characters(&mut pending), "🙂");
        assert!(pending.is_empty());
    }
}
