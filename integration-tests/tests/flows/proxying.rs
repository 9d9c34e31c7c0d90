//! Proxying to the caller's instances through every protocol and the streaming route, and the SSRF
//! refusals for everything else.

use std::time::{Duration, Instant};

use futures::StreamExt;
use gpuproxy_integration_tests::{Auth, Mode, TestFleet, expect_status};
use gpuproxy_proto::gpuproxy::v1 as public;
use gpuproxy_proto::gpuproxy::v1::gpu_proxy_service_client::GpuProxyServiceClient;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::rentals::{destroy_all, reserve, running, user_key};

async fn proxy(fleet: &TestFleet, key: &str, body: Value) -> reqwest::Response {
    fleet.rest.post("/api/v1/gpu/proxy", Auth::Key(key), &body).await
}

/// Routes `GET /slow`, which the instance answers after `delay_ms`, under an `X-Timelimit` of
/// `limit` seconds.
async fn route_slow(fleet: &TestFleet, key: &str, delay_ms: u64, limit: &str) -> reqwest::Response {
    fleet
        .rest
        .request(reqwest::Method::GET, "/api/v1/gpu/route/slow", Auth::Key(key))
        .header(gpuproxy_provider_sim::DELAY_HEADER, delay_ms.to_string())
        .header("X-Timelimit", limit)
        .send()
        .await
        .expect("answered")
}

async fn every_protocol_reaches_the_callers_instance(mode: Mode) {
    let fleet = TestFleet::start_with(mode, &[("RATE_LIMIT_PER_MINUTE", "100000")]).await;
    let key = user_key(&fleet).await;
    let refused = expect_status(
        proxy(&fleet, &key, json!({"protocol": "http", "path": "/health"})).await,
        StatusCode::SERVICE_UNAVAILABLE,
    )
    .await;
    assert_eq!(refused["code"], "NO_HEALTHY_INSTANCE", "nothing to pick yet");
    reserve(&fleet, &key, 1, "io.net").await;
    let instance = running(&fleet, &key, 1).await.remove(0);

    let health = expect_status(
        proxy(&fleet, &key, json!({"protocol": "http", "path": "/health"})).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(health["data"]["status_code"], 200);
    assert_eq!(health["data"]["body"]["status"], "ok");
    assert_eq!(health["data"]["instance_id"], instance["instance_id"]);

    // The seed's HTTP example, with the caller's credentials withheld from the upstream.
    let echoed = expect_status(
        proxy(
            &fleet,
            &key,
            json!({"protocol": "https", "path": "/inference", "method": "POST",
                   "headers": {"Content-Type": "application/json", "X-Trace": "t-1", "X-API-Key": "leak"},
                   "body": {"prompt": "Hello world"}}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let upstream = &echoed["data"]["body"];
    assert_eq!(
        (upstream["method"].as_str(), upstream["path"].as_str()),
        (Some("POST"), Some("/inference"))
    );
    assert_eq!(upstream["headers"]["x-trace"], "t-1");
    assert!(
        upstream["headers"].get("x-api-key").is_none(),
        "credentials never reach an upstream"
    );
    let sent: Value = serde_json::from_str(upstream["body"].as_str().expect("a body")).expect("JSON");
    assert_eq!(sent["prompt"], "Hello world");

    let mcp = expect_status(
        proxy(&fleet, &key, json!({"protocol": "mcp", "body": {"method": "inference", "params": {"model": "llama-2", "prompt": "Hello"}}})).await,
        StatusCode::OK,
    )
    .await;
    let rpc: Value =
        serde_json::from_str(mcp["data"]["body"]["body"].as_str().expect("echoed")).expect("JSON-RPC");
    assert_eq!(
        (rpc["jsonrpc"].as_str(), rpc["method"].as_str()),
        (Some("2.0"), Some("inference"))
    );
    assert_eq!(rpc["params"]["model"], "llama-2");

    let tensors = expect_status(
        proxy(&fleet, &key, json!({"protocol": "openinference", "body": {"model": "iris", "inputs": [{"name": "x", "shape": [1, 4], "datatype": "FP32", "data": [1, 2, 3, 4]}]}})).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(tensors["data"]["body"]["path"], "/v2/models/iris/infer");
    let chat = expect_status(
        proxy(&fleet, &key, json!({"protocol": "openinference", "body": {"model": "gpt-4", "messages": [{"role": "user", "content": "Hello!"}]}})).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(chat["data"]["body"]["choices"][0]["message"]["content"], "Hello!");

    // Naming the instance's own endpoint is allowed although it is a loopback address.
    let endpoint = instance["endpoint"].as_str().expect("an endpoint");
    let named = expect_status(
        proxy(
            &fleet,
            &key,
            json!({"protocol": "http", "target_url": format!("{endpoint}/health")}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(named["data"]["instance_id"], instance["instance_id"]);

    // Over gRPC too.
    let mut client = GpuProxyServiceClient::new(fleet.grpc_channel().await);
    let mut request = tonic::Request::new(public::ProxyRequestMessage {
        protocol: "openinference".to_owned(),
        body: br#"{"model": "m", "prompt": "over grpc"}"#.to_vec(),
        ..Default::default()
    });
    request
        .metadata_mut()
        .insert("x-api-key", key.parse().expect("value"));
    let answer = client.proxy_request(request).await.expect("proxied").into_inner();
    assert_eq!(answer.status_code, 200);
    let completion: Value = serde_json::from_slice(&answer.body).expect("JSON");
    assert_eq!(completion["choices"][0]["text"], "over grpc");

    // A bidirectional stream asked for chunks: each message's answer streams back (status and
    // headers first, then body chunks as the instance sends them), and a bad message fails alone.
    let messages = vec![
        public::ProxyRequestMessage {
            protocol: "openinference".to_owned(),
            headers: [(
                gpuproxy_provider_sim::CHUNK_DELAY_HEADER.to_owned(),
                "20".to_owned(),
            )]
            .into(),
            body: br#"{"model": "m", "stream": true, "messages": [{"role": "user", "content": "a b c"}]}"#
                .to_vec(),
            ..Default::default()
        },
        public::ProxyRequestMessage {
            protocol: "gopher".to_owned(),
            ..Default::default()
        },
        public::ProxyRequestMessage {
            protocol: "http".to_owned(),
            method: "GET".to_owned(),
            ..Default::default()
        },
    ];
    let mut request = tonic::Request::new(futures::stream::iter(messages));
    request
        .metadata_mut()
        .insert("x-api-key", key.parse().expect("value"));
    request
        .metadata_mut()
        .insert("x-stream-chunks", "true".parse().expect("value"));
    let answers: Vec<public::ProxyResponse> = client
        .stream_proxy_request(request)
        .await
        .expect("a stream")
        .into_inner()
        .map(|answer| answer.expect("an answer"))
        .collect()
        .await;
    let heads: Vec<usize> = answers
        .iter()
        .enumerate()
        .filter(|(_, answer)| answer.status_code != 0 || !answer.error.is_empty())
        .map(|(index, _)| index)
        .collect();
    assert_eq!(heads.len(), 3, "{answers:?}");
    assert_eq!(answers[heads[0]].status_code, 200);
    let streamed: String = answers[heads[0] + 1..heads[1]]
        .iter()
        .map(|chunk| String::from_utf8_lossy(&chunk.body).into_owned())
        .collect();
    assert!(
        heads[1] - heads[0] > 2,
        "the answer came in several chunks: {answers:?}"
    );
    assert!(streamed.contains("data: [DONE]"), "{streamed}");
    assert!(
        answers[heads[1]].error.starts_with("VALIDATION_FAILED"),
        "{:?}",
        answers[heads[1]]
    );
    assert_eq!(answers[heads[2]].status_code, 200);
    let echoed: String = answers[heads[2] + 1..]
        .iter()
        .map(|chunk| String::from_utf8_lossy(&chunk.body).into_owned())
        .collect();
    assert!(echoed.contains("\"method\":\"GET\""), "{echoed}");

    // By default, exactly one complete response per message, in order, as the seed's clients read
    // them (`resp.StatusCode, resp.Body`); a bad message is one response with `error`.
    let messages: Vec<public::ProxyRequestMessage> = (0..10)
        .map(|index| public::ProxyRequestMessage {
            protocol: if index == 4 { "gopher" } else { "openinference" }.to_owned(),
            body: format!(r#"{{"model": "m", "prompt": "message {index}"}}"#).into_bytes(),
            ..Default::default()
        })
        .collect();
    let mut request = tonic::Request::new(futures::stream::iter(messages));
    request
        .metadata_mut()
        .insert("x-api-key", key.parse().expect("value"));
    let answers: Vec<public::ProxyResponse> = client
        .stream_proxy_request(request)
        .await
        .expect("a stream")
        .into_inner()
        .map(|answer| answer.expect("an answer"))
        .collect()
        .await;
    assert_eq!(answers.len(), 10, "one response per request: {answers:?}");
    for (index, answer) in answers.iter().enumerate() {
        if index == 4 {
            assert_eq!(answer.status_code, 0);
            assert!(answer.error.starts_with("VALIDATION_FAILED"), "{answer:?}");
            continue;
        }
        assert_eq!(answer.status_code, 200, "{answer:?}");
        assert!(answer.error.is_empty(), "{answer:?}");
        let completion: Value = serde_json::from_slice(&answer.body).expect("a whole JSON body");
        assert_eq!(completion["choices"][0]["text"], format!("message {index}"));
    }
    destroy_all(&fleet, &key).await;
}

async fn streamed_answers_arrive_chunk_by_chunk(mode: Mode) {
    let fleet = TestFleet::start(mode).await;
    let key = user_key(&fleet).await;
    reserve(&fleet, &key, 1, "vast.ai").await;
    running(&fleet, &key, 1).await;
    let started = Instant::now();
    let response = fleet
        .rest
        .request(
            reqwest::Method::POST,
            "/api/v1/gpu/route/v1/chat/completions",
            Auth::Key(&key),
        )
        .header(gpuproxy_provider_sim::CHUNK_DELAY_HEADER, "150")
        .json(&json!({"stream": true, "messages": [{"role": "user", "content": "one two three four five"}]}))
        .send()
        .await
        .expect("answered");
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers().get("x-gpu-instance").is_some());
    assert_eq!(response.headers()["x-request-id"].len(), 36);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .expect("text")
            .starts_with("text/event-stream")
    );
    let mut arrivals = Vec::new();
    let mut text = String::new();
    let mut body = response.bytes_stream();
    while let Some(chunk) = body.next().await {
        arrivals.push(started.elapsed());
        text.push_str(&String::from_utf8_lossy(&chunk.expect("a chunk")));
    }
    assert!(text.contains("data: [DONE]"), "{text}");
    assert!(arrivals.len() >= 4, "several chunks, not one: {arrivals:?}");
    let spread = arrivals[arrivals.len() - 1] - arrivals[0];
    assert!(
        spread >= Duration::from_millis(600),
        "chunks arrive as they are sent, not at the end: {arrivals:?}"
    );

    // Any method and path with its query reach the instance; the gateway's credentials do not.
    let echoed = expect_status(
        fleet
            .rest
            .request(
                reqwest::Method::PUT,
                "/api/v1/gpu/route/models/a?version=2",
                Auth::Key(&key),
            )
            .body("raw")
            .send()
            .await
            .expect("answered"),
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        (
            echoed["method"].as_str(),
            echoed["path"].as_str(),
            echoed["query"].as_str()
        ),
        (Some("PUT"), Some("/models/a"), Some("version=2"))
    );
    assert_eq!(echoed["body"], "raw");
    assert!(echoed["headers"].get("x-api-key").is_none());

    // X-Timelimit bounds the exchange.
    let limited = route_slow(&fleet, &key, 3000, "0.5").await;
    let refused = expect_status(limited, StatusCode::GATEWAY_TIMEOUT).await;
    assert_eq!(refused["code"], "TIMEOUT");
    // The abandoned exchange's connection is not handed to the next request, which is answered.
    let next = expect_status(
        fleet
            .rest
            .request(
                reqwest::Method::GET,
                "/api/v1/gpu/route/after?n=1",
                Auth::Key(&key),
            )
            .send()
            .await
            .expect("answered"),
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        (next["path"].as_str(), next["query"].as_str()),
        (Some("/after"), Some("n=1"))
    );
    // Routed requests are counted under the route's template, the timed-out one by its code.
    let metrics = fleet
        .rest
        .get("/metrics", Auth::None)
        .await
        .text()
        .await
        .expect("text");
    for series in [
        r#"gpuproxy_requests_total{protocol="rest",route="/api/v1/gpu/route/{*path}",status="200"} 3"#,
        r#"gpuproxy_requests_total{protocol="rest",route="/api/v1/gpu/route/{*path}",status="504"} 1"#,
        r#"gpuproxy_errors_total{code="TIMEOUT"} 1"#,
    ] {
        assert!(metrics.contains(series), "{series} missing from:\n{metrics}");
    }
    destroy_all(&fleet, &key).await;
}

async fn answers_stream_over_the_proxy_websocket(mode: Mode) {
    use futures::SinkExt;
    use tokio_tungstenite::tungstenite::Message;
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;

    let fleet = TestFleet::start(mode).await;
    let key = user_key(&fleet).await;
    reserve(&fleet, &key, 1, "io.net").await;
    running(&fleet, &key, 1).await;
    let url = format!(
        "{}/api/v1/gpu/proxy/ws",
        fleet.gateways[0].http.replacen("http", "ws", 1)
    );
    let mut request = url.as_str().into_client_request().expect("a request");
    request
        .headers_mut()
        .insert("x-api-key", key.parse().expect("value"));
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await.expect("upgraded");

    let ask = json!({"protocol": "openinference", "headers": {gpuproxy_provider_sim::CHUNK_DELAY_HEADER: "100"},
                     "body": {"model": "m", "stream": true, "messages": [{"role": "user", "content": "streamed over a socket"}]}});
    socket.send(Message::text(ask.to_string())).await.expect("sent");
    let started = Instant::now();
    let mut kinds = Vec::new();
    let mut arrivals = Vec::new();
    let mut data = String::new();
    loop {
        let message = tokio::time::timeout(Duration::from_secs(10), socket.next())
            .await
            .expect("in time")
            .expect("open")
            .expect("a frame");
        let event: Value = serde_json::from_str(message.to_text().expect("text")).expect("JSON");
        let kind = event["type"].as_str().expect("a type").to_owned();
        if kind == "response.start" {
            assert_eq!(event["status_code"], 200);
        }
        if kind == "response.chunk" {
            arrivals.push(started.elapsed());
            data.push_str(event["data"].as_str().expect("data"));
        }
        kinds.push(kind.clone());
        if kind == "response.end" || kind == "error" {
            break;
        }
    }
    assert_eq!(
        kinds.first().map(String::as_str),
        Some("response.start"),
        "{kinds:?}"
    );
    assert_eq!(
        kinds.last().map(String::as_str),
        Some("response.end"),
        "{kinds:?}"
    );
    assert!(arrivals.len() >= 3, "{kinds:?}");
    assert!(
        arrivals[arrivals.len() - 1] - arrivals[0] >= Duration::from_millis(300),
        "chunks arrive as sent: {arrivals:?}"
    );
    assert!(data.contains("socket") && data.contains("[DONE]"), "{data}");

    // A malformed request fails alone; the socket stays open for the next.
    socket.send(Message::text("{not json")).await.expect("sent");
    let refused: Value = serde_json::from_str(
        socket
            .next()
            .await
            .expect("open")
            .expect("a frame")
            .to_text()
            .expect("text"),
    )
    .expect("JSON");
    assert_eq!(
        (refused["type"].as_str(), refused["code"].as_str()),
        (Some("error"), Some("MALFORMED_REQUEST"))
    );
    socket
        .send(Message::text(
            json!({"protocol": "http", "target_url": "http://169.254.169.254/"}).to_string(),
        ))
        .await
        .expect("sent");
    let refused: Value = serde_json::from_str(
        socket
            .next()
            .await
            .expect("open")
            .expect("a frame")
            .to_text()
            .expect("text"),
    )
    .expect("JSON");
    assert_eq!(refused["code"], "TARGET_FORBIDDEN");
    // Binary frames are not requests: the socket closes with 1003, the server carries on.
    socket.send(Message::binary(vec![0, 1, 2])).await.expect("sent");
    let closed = socket.next().await.expect("a close frame").expect("a frame");
    match closed {
        Message::Close(Some(frame)) => assert_eq!(u16::from(frame.code), 1003),
        other => panic!("expected a close frame, got {other:?}"),
    }
    let health = fleet.rest.get("/health/live", Auth::None).await;
    assert_eq!(health.status(), StatusCode::OK);
    destroy_all(&fleet, &key).await;
}

/// A server on loopback that redirects every request to `location`.
async fn redirector(location: String) -> (std::net::SocketAddr, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a port");
    let address = listener.local_addr().expect("bound");
    let app = axum::Router::new().fallback(move || {
        let location = location.clone();
        async move { (StatusCode::FOUND, [("location", location)]) }
    });
    #[expect(
        clippy::disallowed_methods,
        reason = "a throwaway upstream that lives as long as the test"
    )]
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (address, task)
}

async fn private_targets_are_refused_unless_allow_listed(mode: Mode) {
    let simulator_port_target = "http://127.0.0.1:1/";
    let (redirecting, _redirect_task) = redirector(simulator_port_target.to_owned()).await;
    let (to_metadata, _metadata_task) =
        redirector("http://169.254.169.254/latest/meta-data".to_owned()).await;
    let allowed = format!("{redirecting},{to_metadata}");
    let fleet = TestFleet::start_with(mode, &[("PROXY_ALLOWED_HOSTS", allowed.as_str())]).await;
    let key = user_key(&fleet).await;
    let sim = fleet.simulator.as_ref().expect("a simulator").base_url();
    for target in [
        format!("{sim}/_sim/state"),
        "http://169.254.169.254/latest/meta-data/iam".to_owned(),
        format!("http://localhost:{}/", sim.rsplit(':').next().expect("a port")),
        "http://[::1]:80/".to_owned(),
        "http://10.0.0.1/".to_owned(),
        "http://0.0.0.0:80/".to_owned(),
    ] {
        let refused = expect_status(
            proxy(&fleet, &key, json!({"protocol": "http", "target_url": target})).await,
            StatusCode::FORBIDDEN,
        )
        .await;
        assert_eq!(refused["code"], "TARGET_FORBIDDEN", "{target}");
    }
    // Allow-listed hosts are reached; their redirects are checked again.
    for target in [format!("http://{redirecting}/"), format!("http://{to_metadata}/")] {
        let refused = expect_status(
            proxy(&fleet, &key, json!({"protocol": "http", "target_url": target})).await,
            StatusCode::FORBIDDEN,
        )
        .await;
        assert_eq!(refused["code"], "TARGET_FORBIDDEN", "a redirect from {target}");
    }
    for (body, field) in [
        (json!({"protocol": "gopher"}), "protocol"),
        (
            json!({"protocol": "http", "target_url": "file:///etc/passwd"}),
            "target_url",
        ),
        (
            json!({"protocol": "mcp", "target_url": "https://example.com", "body": {"params": {}}}),
            "body.method",
        ),
    ] {
        let refused = expect_status(proxy(&fleet, &key, body).await, StatusCode::BAD_REQUEST).await;
        assert_eq!(
            (refused["code"].as_str(), refused["field"].as_str()),
            (Some("VALIDATION_FAILED"), Some(field))
        );
    }
}

/// A proxied request is bounded by its own time limit (`timeout`, `X-Timelimit`, else
/// `PROXY_TIMEOUT`), not by `REQUEST_TIMEOUT`, which is for the API's own work: a long generation
/// runs to the limit its caller asked for.
async fn proxied_requests_run_to_their_own_time_limit_past_request_timeout(mode: Mode) {
    let fleet = TestFleet::start_with(mode, &[("REQUEST_TIMEOUT", "1s")]).await;
    let key = user_key(&fleet).await;
    reserve(&fleet, &key, 1, "vast.ai").await;
    running(&fleet, &key, 1).await;

    let routed = expect_status(route_slow(&fleet, &key, 1500, "10").await, StatusCode::OK).await;
    assert_eq!(routed["path"], "/slow");

    let proxied = proxy(
        &fleet,
        &key,
        json!({"protocol": "http", "method": "GET", "path": "/slow", "timeout": 10,
               "headers": {"x-sim-delay-ms": "1500"}}),
    )
    .await;
    let proxied = expect_status(proxied, StatusCode::OK).await;
    assert_eq!(proxied["data"]["status_code"], 200, "{proxied}");

    // The caller's own limit still holds.
    let limited = route_slow(&fleet, &key, 1500, "0.5").await;
    assert_eq!(
        expect_status(limited, StatusCode::GATEWAY_TIMEOUT).await["code"],
        "TIMEOUT"
    );
    destroy_all(&fleet, &key).await;
}

crate::in_both_modes!(
    every_protocol_reaches_the_callers_instance,
    streamed_answers_arrive_chunk_by_chunk,
    private_targets_are_refused_unless_allow_listed,
    answers_stream_over_the_proxy_websocket,
    proxied_requests_run_to_their_own_time_limit_past_request_timeout,
);
