//! `/ws`: live events, each to whom it concerns; the seeds' examples; slow and broken clients.

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use gpuproxy_integration_tests::{Mode, TestFleet};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use crate::in_both_modes;
use crate::rentals::{destroy_all, reserve, user_key};

pub type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

in_both_modes!(
    a_user_receives_their_instance_events_until_they_unsubscribe,
    the_seed_examples_work_as_written,
    bad_messages_get_a_code_or_a_protocol_close_and_the_server_stays_up,
);

fn ws_url(fleet: &TestFleet) -> String {
    format!("{}/ws", fleet.gateways[0].http.replacen("http", "ws", 1))
}

pub async fn connect(fleet: &TestFleet, key: Option<&str>) -> Socket {
    let mut request = ws_url(fleet).into_client_request().expect("a request");
    if let Some(key) = key {
        request
            .headers_mut()
            .insert("x-api-key", key.parse().expect("value"));
    }
    tokio_tungstenite::connect_async(request)
        .await
        .expect("upgraded")
        .0
}

pub async fn send(socket: &mut Socket, message: Value) {
    socket
        .send(Message::text(message.to_string()))
        .await
        .expect("sent");
}

/// The next text message as JSON, skipping pings.
pub async fn next(socket: &mut Socket) -> Value {
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(10), socket.next())
            .await
            .expect("a message within 10 s")
            .expect("open")
            .expect("a frame");
        if let Message::Text(text) = frame {
            return serde_json::from_str(text.as_str()).expect("JSON");
        }
    }
}

/// Text messages that arrive within `wait`.
async fn drain(socket: &mut Socket, wait: Duration) -> Vec<Value> {
    let mut seen = Vec::new();
    let _ = tokio::time::timeout(wait, async {
        while let Some(Ok(frame)) = socket.next().await {
            if let Message::Text(text) = frame {
                seen.push(serde_json::from_str(text.as_str()).expect("JSON"));
            }
        }
    })
    .await;
    seen
}

/// The close frame's code, once the server closes.
async fn close_code(socket: &mut Socket) -> Option<CloseCode> {
    tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(frame) = socket.next().await {
            match frame {
                Ok(Message::Close(frame)) => return frame.map(|frame| frame.code),
                Ok(_) => {}
                Err(_) => return None,
            }
        }
        None
    })
    .await
    .expect("closed within 10 s")
}

async fn a_user_receives_their_instance_events_until_they_unsubscribe(mode: Mode) {
    let fleet = TestFleet::start(mode).await;
    let (alice, bob) = (user_key(&fleet).await, user_key(&fleet).await);
    let mut alice_socket = connect(&fleet, Some(&alice)).await;
    send(
        &mut alice_socket,
        json!({"type": "subscribe", "channels": ["gpu_updates"]}),
    )
    .await;
    let subscribed = next(&mut alice_socket).await;
    assert_eq!(subscribed["type"], "subscribed");
    assert_eq!(subscribed["payload"]["channels"], json!(["gpu_updates"]));
    assert_eq!(subscribed["payload"]["authenticated"], true);
    // Bob authenticates with his first message and listens to everything.
    let mut bob_socket = connect(&fleet, None).await;
    send(&mut bob_socket, json!({"type": "auth", "api_key": bob})).await;
    assert_eq!(next(&mut bob_socket).await["type"], "authenticated");
    send(&mut bob_socket, json!({"type": "subscribe"})).await;
    assert_eq!(
        next(&mut bob_socket).await["payload"]["channels"]
            .as_array()
            .map(Vec::len),
        Some(7)
    );

    let reserved = reserve(&fleet, &alice, 1, "").await;
    let instance_id = reserved["reserved"][0]["instance_id"]
        .as_str()
        .expect("an instance");
    let created = next(&mut alice_socket).await;
    assert_eq!(created["type"], "gpu_updates");
    assert_eq!(created["payload"]["event"], "instance.created");
    assert_eq!(created["payload"]["data"]["instance_id"], instance_id);
    assert_eq!(created["payload"]["id"].as_str().map(str::len), Some(36));
    let owner = created["payload"]["data"]["user_id"].clone();

    send(
        &mut alice_socket,
        json!({"type": "unsubscribe", "channels": ["gpu_updates"]}),
    )
    .await;
    let unsubscribed = next(&mut alice_socket).await;
    assert_eq!(unsubscribed["type"], "unsubscribed");
    assert_eq!(unsubscribed["payload"]["channels"], json!([]));
    destroy_all(&fleet, &alice).await;
    let after = drain(&mut alice_socket, Duration::from_millis(800)).await;
    assert!(after.is_empty(), "nothing after unsubscribing: {after:?}");
    let bobs = drain(&mut bob_socket, Duration::from_millis(300)).await;
    assert!(
        bobs.iter()
            .all(|message| message["payload"]["data"]["user_id"] != owner),
        "bob never sees alice's events: {bobs:?}"
    );
}

async fn the_seed_examples_work_as_written(mode: Mode) {
    let fleet = TestFleet::start(mode).await;
    // Seed 001: no credentials (a browser cannot set headers), no channels.
    let mut socket = connect(&fleet, None).await;
    send(&mut socket, json!({"type": "subscribe"})).await;
    let subscribed = next(&mut socket).await;
    assert_eq!(subscribed["type"], "subscribed");
    assert_eq!(
        subscribed["payload"]["channels"],
        json!([
            "payment_completed",
            "gpu_available",
            "guardrails",
            "billing_events",
            "reservation_events",
            "gpu_updates",
            "agent_tasks"
        ])
    );
    assert_eq!(subscribed["payload"]["authenticated"], false);
    // Seed 002, with the key in the query string.
    let key = user_key(&fleet).await;
    let url = format!("{}?api_key={key}", ws_url(&fleet));
    let (mut socket, _) = tokio_tungstenite::connect_async(url).await.expect("upgraded");
    send(
        &mut socket,
        json!({"type": "subscribe", "channels": ["gpu_updates", "billing_events"]}),
    )
    .await;
    let subscribed = next(&mut socket).await;
    assert_eq!(
        subscribed["payload"]["channels"],
        json!(["billing_events", "gpu_updates"])
    );
    assert_eq!(subscribed["payload"]["authenticated"], true);
    send(&mut socket, json!({"type": "ping"})).await;
    assert_eq!(next(&mut socket).await["type"], "pong");
}

async fn bad_messages_get_a_code_or_a_protocol_close_and_the_server_stays_up(mode: Mode) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let fleet = TestFleet::start(mode).await;
    let mut socket = connect(&fleet, None).await;
    send(
        &mut socket,
        json!({"type": "subscribe", "channels": ["gpu_updates", "weather"]}),
    )
    .await;
    let refused = next(&mut socket).await;
    assert_eq!(refused["type"], "error");
    assert_eq!(refused["payload"]["code"], "UNKNOWN_CHANNEL");
    send(&mut socket, json!({"type": "dance"})).await;
    assert_eq!(next(&mut socket).await["payload"]["code"], "MALFORMED_REQUEST");
    send(
        &mut socket,
        json!({"type": "subscribe", "channels": ["gpu_updates"], "all_users": true}),
    )
    .await;
    assert_eq!(next(&mut socket).await["payload"]["code"], "FORBIDDEN");
    send(&mut socket, json!({"type": "ping"})).await;
    assert_eq!(
        next(&mut socket).await["type"],
        "pong",
        "the connection survived its mistakes"
    );
    socket.send(Message::text("{not json")).await.expect("sent");
    assert_eq!(close_code(&mut socket).await, Some(CloseCode::Invalid));

    let mut socket = connect(&fleet, None).await;
    socket.send(Message::binary(vec![1, 2, 3])).await.expect("sent");
    assert_eq!(close_code(&mut socket).await, Some(CloseCode::Unsupported));

    let mut socket = connect(&fleet, None).await;
    send(
        &mut socket,
        json!({"type": "auth", "api_key": "gpx_not_a_real_key"}),
    )
    .await;
    assert_eq!(next(&mut socket).await["type"], "error");
    assert_eq!(close_code(&mut socket).await, Some(CloseCode::Policy));

    let mut request = ws_url(&fleet).into_client_request().expect("a request");
    request
        .headers_mut()
        .insert("x-api-key", "gpx_not_a_real_key".parse().expect("value"));
    let refused = tokio_tungstenite::connect_async(request)
        .await
        .expect_err("refused at the upgrade");
    match refused {
        tokio_tungstenite::tungstenite::Error::Http(response) => assert_eq!(response.status(), 401),
        other => panic!("expected a 401, got {other}"),
    }

    // A frame that breaks the protocol: unmasked, with a reserved opcode.
    let address = fleet.gateways[0].http.trim_start_matches("http://").to_owned();
    let mut raw = tokio::net::TcpStream::connect(&address).await.expect("connected");
    raw.write_all(
        format!(
            "GET /ws HTTP/1.1\r\nHost: {address}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        .as_bytes(),
    )
    .await
    .expect("handshake sent");
    let mut buffer = vec![0u8; 4096];
    let read = raw.read(&mut buffer).await.expect("handshake answered");
    assert!(String::from_utf8_lossy(&buffer[..read]).starts_with("HTTP/1.1 101"));
    raw.write_all(&[0x83, 0x05, b'h', b'e', b'l', b'l', b'o'])
        .await
        .expect("garbage sent");
    let closed = tokio::time::timeout(Duration::from_secs(5), raw.read(&mut buffer))
        .await
        .expect("the server reacts within 5 s");
    if let Ok(read) = closed
        && read >= 4
    {
        assert_eq!(buffer[0], 0x88, "a close frame");
        assert_eq!(u16::from_be_bytes([buffer[2], buffer[3]]), 1002, "protocol error");
    }

    let mut socket = connect(&fleet, None).await;
    send(&mut socket, json!({"type": "ping"})).await;
    assert_eq!(next(&mut socket).await["type"], "pong", "the server still serves");
}

#[tokio::test]
async fn a_client_that_falls_behind_is_dropped_without_holding_back_the_others() {
    let fleet = TestFleet::start_with(Mode::Fleet, &[("WS_BUFFER", "64")]).await;
    let nats = fleet.nats.clone().expect("the fleet uses NATS");
    let mut slow = connect(&fleet, None).await;
    let mut fast = connect(&fleet, None).await;
    for socket in [&mut slow, &mut fast] {
        send(socket, json!({"type": "subscribe", "channels": ["gpu_updates"]})).await;
        assert_eq!(next(socket).await["type"], "subscribed");
    }
    let client = async_nats::connect(nats.url.as_deref().expect("a url"))
        .await
        .expect("nats");
    let padding = "x".repeat(8192);
    let events = 3000;
    let publish = async {
        for number in 0..events {
            let event = json!({"id": uuid::Uuid::now_v7().to_string(), "event": "catalog.provider.degraded",
                               "timestamp": chrono::Utc::now().to_rfc3339(),
                               "data": {"provider": "vast.ai", "reason": padding, "number": number}});
            client
                .publish(
                    format!("{}.catalog.provider.degraded", nats.subject_prefix),
                    event.to_string().into(),
                )
                .await
                .expect("published");
            // Paced well within what a client that reads keeps up with; the slow one reads nothing.
            if number % 10 == 9 {
                client.flush().await.expect("flushed");
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        }
        client.flush().await.expect("flushed");
    };
    let read_fast = async {
        let mut numbers = Vec::new();
        while numbers.len() < events {
            let message = next(&mut fast).await;
            numbers.push(message["payload"]["data"]["number"].as_u64().expect("a number"));
        }
        numbers
    };
    let ((), numbers) = tokio::join!(publish, read_fast);
    assert_eq!(
        numbers,
        (0..events as u64).collect::<Vec<_>>(),
        "the fast client got every event, in order"
    );
    // The slow one read nothing meanwhile. What the kernel buffered still arrives, then the
    // connection ends: with a 1013 close when the server could still get one through.
    let mut delivered = 0;
    let ending = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(frame) = slow.next().await {
            match frame {
                Ok(Message::Text(_)) => delivered += 1,
                Ok(Message::Close(frame)) => return frame.map(|frame| frame.code),
                Ok(_) => {}
                Err(_) => return None,
            }
        }
        None
    })
    .await
    .expect("the slow connection ends");
    assert!(
        delivered < events,
        "the slow client was cut off after {delivered} events"
    );
    assert!(matches!(ending, None | Some(CloseCode::Again)), "{ending:?}");
}
