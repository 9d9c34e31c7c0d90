//! `GET /ws`: live events over a WebSocket (seeds `001`, `002`).
//!
//! A client sends `{"type": "subscribe", "channels": [...]}` (no list: every channel) and
//! `{"type": "unsubscribe", "channels": [...]}` (no list: all), and receives each event as
//! `{"type": "<channel>", "payload": {"id", "event", "timestamp", "data"}}`. Credentials go in the
//! upgrade's `X-API-Key` / `Authorization` header, in `?api_key=` / `?token=` (browsers cannot set
//! headers), or in the first message: `{"type": "auth", "api_key" | "token": …}` (also accepted on
//! `subscribe`). Without them a connection sees fleet-wide events only (providers' health); with
//! them, also its user's own. `{"type": "ping"}` is answered `{"type": "pong"}`; the server pings
//! every `WS_PING_INTERVAL` and closes a connection silent for two intervals.
//!
//! Close codes: 1003 for a binary message, 1007 for a text message that is not JSON, 1008 when the
//! credentials are refused or stop admitting the caller, 1013 when the client fell more than
//! `WS_BUFFER` events behind or the gateway holds `WS_MAX_CONNECTIONS` already. Other mistakes
//! (an unknown channel or message type) get `{"type": "error", "payload": {"code", "error"}}`
//! and the connection stays open.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use gpuproxy_domain::Principal;
use gpuproxy_errors::ErrorCode;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::credentials::Credentials;
use crate::hub::{Channel, Channels, Listener};
use crate::rest::query_params::QueryParams;
use crate::{AppState, Error};

const UNSUPPORTED_DATA: u16 = 1003;
const INVALID_PAYLOAD: u16 = 1007;
const POLICY_VIOLATION: u16 = 1008;
const TRY_AGAIN_LATER: u16 = 1013;
const GOING_AWAY: u16 = 1001;

/// How long one message to the client may take to send.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);

/// Largest message a client may send: they are small commands.
const MAX_CLIENT_MESSAGE: usize = 64 * 1024;

/// `?api_key=` / `?token=` for clients that cannot set headers.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
pub struct WsQuery {
    /// An API key.
    pub api_key: Option<String>,
    /// A JWT (or an API key).
    pub token: Option<String>,
}

/// What a client sends.
#[derive(Debug, Deserialize)]
struct ClientMessage {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    channels: Option<Vec<String>>,
    #[serde(default)]
    api_key: Option<String>,
    #[serde(default)]
    token: Option<String>,
    /// Admins only: every user's events.
    #[serde(default)]
    all_users: bool,
}

/// Upgrades to the event stream.
#[utoipa::path(get, path = "/ws", tag = "events", params(WsQuery),
    responses(
        (status = 101, description = "Switching to the WebSocket protocol"),
        (status = 400, description = "Not a WebSocket upgrade (MALFORMED_REQUEST)", body = crate::error::ErrorBody),
        (status = 401, description = "Credentials given and refused", body = crate::error::ErrorBody),
    ))]
pub async fn events_ws(
    State(state): State<AppState>,
    headers: HeaderMap,
    QueryParams(query): QueryParams<WsQuery>,
    connect_info: Result<
        axum::extract::ConnectInfo<std::net::SocketAddr>,
        axum::extract::rejection::ExtensionRejection,
    >,
    upgrade: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> Result<Response, Error> {
    let upgrade = upgrade.map_err(|rejection| {
        Error::new(
            ErrorCode::MalformedRequest,
            format!("expected a WebSocket upgrade: {rejection}"),
        )
    })?;
    let mut extensions = http::Extensions::new();
    if let Ok(connect_info) = connect_info {
        extensions.insert(connect_info);
    }
    let from_query = credentials(query.api_key, query.token);
    let presented = match &from_query {
        Some(credentials) => Some(credentials.clone()),
        None => Credentials::from_headers(&headers)?,
    };
    let caller = match presented {
        Some(credentials) => Some(admit(&state, &credentials, &headers, &extensions).await?),
        None => None,
    };
    let connection = Connection {
        credentials: from_query,
        headers,
        extensions,
    };
    Ok(upgrade
        .max_message_size(MAX_CLIENT_MESSAGE)
        .on_upgrade(move |socket| serve(state, connection, caller, socket))
        .into_response())
}

fn credentials(api_key: Option<String>, token: Option<String>) -> Option<Credentials> {
    match api_key.filter(|key| !key.trim().is_empty()) {
        Some(key) => Some(Credentials::ApiKey(key.trim().to_owned())),
        None => Credentials::from_token(&token.unwrap_or_default()),
    }
}

async fn admit(
    state: &AppState,
    credentials: &Credentials,
    headers: &HeaderMap,
    extensions: &http::Extensions,
) -> Result<Arc<Principal>, Error> {
    let address = state.gatekeeper.client_address(headers, extensions);
    state
        .gatekeeper
        .admit_credentials(credentials, address, headers)
        .await
        .map(|admission| admission.principal)
        .map_err(|refusal| refusal.error)
}

/// What the connection needs to re-check its credentials.
struct Connection {
    /// Given in the query or a message; otherwise those of the upgrade's headers.
    credentials: Option<Credentials>,
    headers: HeaderMap,
    extensions: http::Extensions,
}

async fn serve(
    state: AppState,
    mut connection: Connection,
    caller: Option<Arc<Principal>>,
    mut socket: WebSocket,
) {
    let Some((registration, mut outbound)) = state.hub.register() else {
        close(
            &mut socket,
            TRY_AGAIN_LATER,
            "this gateway holds as many connections as it allows",
        )
        .await;
        return;
    };
    let listener = Arc::clone(&registration.listener);
    let mut principal = caller;
    if let Some(principal) = &principal {
        listener.authenticate(principal.user_id.to_string(), false);
    }
    let interval = state.ws.ping_interval;
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
    let mut last_heard = tokio::time::Instant::now();
    loop {
        tokio::select! {
            () = listener.dropped.cancelled() => {
                close(&mut socket, TRY_AGAIN_LATER, "too slow: more events waited than the buffer holds").await;
                return;
            }
            message = outbound.recv() => {
                let Some(message) = message else { return };
                if send_text(&mut socket, &listener, message.as_ref()).await.is_err() {
                    return;
                }
            }
            _ = ticks.tick() => {
                if last_heard.elapsed() > interval * 2 {
                    close(&mut socket, GOING_AWAY, "no answer to pings").await;
                    return;
                }
                if principal.is_some() && !still_admitted(&state, &connection, principal.as_deref()).await {
                    close(&mut socket, POLICY_VIOLATION, "the credentials no longer admit this caller").await;
                    return;
                }
                if send(&mut socket, &listener, Message::Ping(Vec::new().into())).await.is_err() {
                    return;
                }
            }
            received = socket.recv() => {
                let text = match received {
                    Some(Ok(Message::Text(text))) => text,
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => {
                        last_heard = tokio::time::Instant::now();
                        continue;
                    }
                    Some(Ok(Message::Binary(_))) => {
                        close(&mut socket, UNSUPPORTED_DATA, "send commands as JSON text messages").await;
                        return;
                    }
                    // A closed socket, or a frame that breaks the protocol: tungstenite has
                    // answered it with a close (1002) where it could; nothing more to do.
                    Some(Ok(Message::Close(_))) | Some(Err(_)) | None => return,
                };
                last_heard = tokio::time::Instant::now();
                let message = match serde_json::from_str::<ClientMessage>(text.as_str()) {
                    Ok(message) => message,
                    Err(error) if serde_json::from_str::<Value>(text.as_str()).is_ok() => {
                        let reply = error_message(ErrorCode::MalformedRequest, &format!("not a command: {error}"));
                        if send_text(&mut socket, &listener, &reply).await.is_err() {
                            return;
                        }
                        continue;
                    }
                    Err(_) => {
                        close(&mut socket, INVALID_PAYLOAD, "messages must be JSON").await;
                        return;
                    }
                };
                let reply = match handle(&state, &mut connection, &mut principal, &listener, message).await {
                    Ok(reply) => reply,
                    Err(error) if refuses_credentials(error.code()) => {
                        let reply = error_message(error.code(), &error.to_string());
                        let _ = send_text(&mut socket, &listener, &reply).await;
                        close(&mut socket, POLICY_VIOLATION, "the credentials were refused").await;
                        return;
                    }
                    Err(error) => error_message(error.code(), &error.to_string()),
                };
                if send_text(&mut socket, &listener, &reply).await.is_err() {
                    return;
                }
            }
        }
    }
}

/// Applies one command; returns the reply.
async fn handle(
    state: &AppState,
    connection: &mut Connection,
    principal: &mut Option<Arc<Principal>>,
    listener: &Listener,
    message: ClientMessage,
) -> Result<String, Error> {
    if let Some(credentials) = credentials(message.api_key.clone(), message.token.clone()) {
        let admitted = admit(state, &credentials, &connection.headers, &connection.extensions).await?;
        listener.authenticate(admitted.user_id.to_string(), false);
        connection.credentials = Some(credentials);
        *principal = Some(admitted);
    }
    if message.all_users {
        match principal {
            Some(admin) if admin.is_admin => listener.authenticate(admin.user_id.to_string(), true),
            _ => {
                return Err(Error::new(
                    ErrorCode::Forbidden,
                    "only admins may receive every user's events",
                ));
            }
        }
    }
    let authenticated = principal.as_ref().map(|principal| principal.user_id.to_string());
    match message.kind.as_str() {
        "auth" => match &authenticated {
            Some(user_id) => {
                Ok(json!({"type": "authenticated", "payload": {"user_id": user_id}}).to_string())
            }
            None => Err(Error::new(ErrorCode::Unauthenticated, "send api_key or token")),
        },
        "subscribe" => {
            let wanted = parse_channels(message.channels.as_deref())?;
            let channels = listener.update(|channels| {
                for channel in Channel::ALL
                    .into_iter()
                    .filter(|channel| wanted.contains(*channel))
                {
                    channels.insert(channel);
                }
            });
            Ok(json!({"type": "subscribed", "payload": {
                "channels": channels.names(),
                "authenticated": authenticated.is_some(),
            }})
            .to_string())
        }
        "unsubscribe" => {
            let unwanted = parse_channels(message.channels.as_deref())?;
            let channels = listener.update(|channels| {
                for channel in Channel::ALL
                    .into_iter()
                    .filter(|channel| unwanted.contains(*channel))
                {
                    channels.remove(channel);
                }
            });
            Ok(json!({"type": "unsubscribed", "payload": {"channels": channels.names()}}).to_string())
        }
        "ping" => Ok(json!({"type": "pong"}).to_string()),
        other => Err(Error::new(
            ErrorCode::MalformedRequest,
            format!("unknown message type {other:?}; send auth, subscribe, unsubscribe or ping"),
        )),
    }
}

/// Every channel for no list; the named ones otherwise, all or nothing.
fn parse_channels(names: Option<&[String]>) -> Result<Channels, Error> {
    let Some(names) = names else {
        return Ok(Channels::all());
    };
    let mut channels = Channels::default();
    for name in names {
        let channel = Channel::parse(name).ok_or_else(|| {
            Error::new(
                ErrorCode::UnknownChannel,
                format!(
                    "no channel {name:?}; channels: {}",
                    Channels::all().names().join(", ")
                ),
            )
        })?;
        channels.insert(channel);
    }
    Ok(channels)
}

async fn still_admitted(state: &AppState, connection: &Connection, principal: Option<&Principal>) -> bool {
    let presented = match &connection.credentials {
        Some(credentials) => Some(credentials.clone()),
        None => Credentials::from_headers(&connection.headers).ok().flatten(),
    };
    let Some(credentials) = presented else {
        return true;
    };
    match admit(state, &credentials, &connection.headers, &connection.extensions).await {
        Ok(admitted) => principal.is_some_and(|principal| principal.user_id == admitted.user_id),
        Err(error) => error.code() == ErrorCode::RateLimited,
    }
}

fn refuses_credentials(code: ErrorCode) -> bool {
    matches!(
        code,
        ErrorCode::Unauthenticated
            | ErrorCode::InvalidToken
            | ErrorCode::TokenExpired
            | ErrorCode::InvalidCredentials
    )
}

fn error_message(code: ErrorCode, message: &str) -> String {
    json!({"type": "error", "payload": {"code": code.as_str(), "error": message}}).to_string()
}

struct SocketGone;

async fn send_text(socket: &mut WebSocket, listener: &Listener, text: &str) -> Result<(), SocketGone> {
    send(socket, listener, Message::Text(text.into())).await
}

/// Sends one message, giving up when the client takes longer than [`SEND_TIMEOUT`] or the hub
/// drops it meanwhile.
async fn send(socket: &mut WebSocket, listener: &Listener, message: Message) -> Result<(), SocketGone> {
    tokio::select! {
        sent = tokio::time::timeout(SEND_TIMEOUT, socket.send(message)) => match sent {
            Ok(Ok(())) => Ok(()),
            _ => Err(SocketGone),
        },
        () = listener.dropped.cancelled() => Err(SocketGone),
    }
}

async fn close(socket: &mut WebSocket, code: u16, reason: &'static str) {
    let frame = CloseFrame {
        code,
        reason: reason.into(),
    };
    let _ = tokio::time::timeout(Duration::from_secs(1), socket.send(Message::Close(Some(frame)))).await;
}
