//! Bad input gets a 4xx with a code, never a 500.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use gpuproxy_integration_tests::{Auth, JWT_SECRET, Mode, PASSWORD, TestFleet, expect_status, fresh_email};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

async fn register_raw(fleet: &TestFleet, body: &str, content_type: &str) -> (StatusCode, Value) {
    let response = fleet
        .rest
        .request(Method::POST, "/api/v1/auth/register", Auth::None)
        .header("Content-Type", content_type)
        .body(body.to_owned())
        .send()
        .await
        .expect("answered");
    let status = response.status();
    (status, response.json().await.expect("a JSON error body"))
}

async fn invalid_registrations_get_400_with_a_code(mode: Mode) {
    let fleet = TestFleet::start(mode).await;
    let email = fresh_email();
    let cases = [
        (
            r#"{"email": "a@b.co", "password": "#.to_owned(),
            "MALFORMED_REQUEST",
            None,
        ),
        ("not json at all".to_owned(), "MALFORMED_REQUEST", None),
        (
            json!({"email": email, "password": PASSWORD}).to_string(),
            "VALIDATION_FAILED",
            Some("name"),
        ),
        (
            json!({"password": PASSWORD, "name": "N"}).to_string(),
            "VALIDATION_FAILED",
            Some("email"),
        ),
        (
            json!({"email": 5, "password": PASSWORD, "name": "N"}).to_string(),
            "VALIDATION_FAILED",
            None,
        ),
        (
            json!({"email": "not-an-email", "password": PASSWORD, "name": "N"}).to_string(),
            "INVALID_EMAIL",
            Some("email"),
        ),
        (
            json!({"email": email, "password": "short", "name": "N"}).to_string(),
            "WEAK_PASSWORD",
            Some("password"),
        ),
        (
            json!({"email": email, "password": PASSWORD, "name": ""}).to_string(),
            "VALIDATION_FAILED",
            Some("name"),
        ),
    ];
    for (body, code, field) in cases {
        let (status, json) = register_raw(&fleet, &body, "application/json").await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body} → {json}");
        assert_eq!(json["code"], code, "{body} → {json}");
        assert!(json["error"].as_str().is_some_and(|message| !message.is_empty()));
        if let Some(field) = field {
            assert_eq!(json["field"], field, "{body} → {json}");
        }
    }
    let (status, json) = register_raw(&fleet, &json!({}).to_string(), "text/plain").await;
    assert_eq!(
        (status, json["code"].as_str()),
        (StatusCode::UNSUPPORTED_MEDIA_TYPE, Some("UNSUPPORTED_MEDIA_TYPE"))
    );
}

async fn a_taken_email_gets_409(mode: Mode) {
    let fleet = TestFleet::start(mode).await;
    let email = fresh_email();
    fleet.rest.register(&email).await;

    let again = json!({"email": email.to_uppercase(), "password": PASSWORD, "name": "Copy"});
    let json = expect_status(
        fleet.rest.post("/api/v1/auth/register", Auth::None, &again).await,
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(json["code"], "EMAIL_TAKEN");
}

async fn a_wrong_password_and_an_unknown_user_get_the_same_401(mode: Mode) {
    let fleet = TestFleet::start(mode).await;
    let email = fresh_email();
    fleet.rest.register(&email).await;

    let wrong = fleet
        .rest
        .post(
            "/api/v1/auth/login",
            Auth::None,
            &json!({"email": email, "password": "wrong-password"}),
        )
        .await;
    let unknown = fleet
        .rest
        .post(
            "/api/v1/auth/login",
            Auth::None,
            &json!({"email": fresh_email(), "password": PASSWORD}),
        )
        .await;

    let wrong = expect_status(wrong, StatusCode::UNAUTHORIZED).await;
    let unknown = expect_status(unknown, StatusCode::UNAUTHORIZED).await;
    assert_eq!(wrong, unknown);
    assert_eq!(wrong["code"], "INVALID_CREDENTIALS");
}

fn sign(claims: &Value, secret: &str) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        claims,
        &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
    )
    .expect("signed")
}

async fn forged_expired_and_unsigned_tokens_get_401(mode: Mode) {
    let fleet = TestFleet::start(mode).await;
    let (_, token) = fleet.rest.new_user().await;
    let me = expect_status(
        fleet.rest.get("/api/v1/auth/me", Auth::Bearer(&token)).await,
        StatusCode::OK,
    )
    .await;
    let user_id = me["data"]["user_id"].as_str().expect("id").to_owned();
    let session_id = me["data"]["credential_id"].as_str().expect("sid").to_owned();
    let now = chrono::Utc::now().timestamp();
    let claims = |exp: i64| json!({"sub": user_id, "sid": session_id, "iss": "gpuproxy", "iat": now - 7200, "exp": exp});

    let expired = sign(&claims(now - 3600), JWT_SECRET);
    let wrong_signature = sign(
        &claims(now + 3600),
        "another-secret-another-secret-another-secret!",
    );
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(claims(now + 3600).to_string());
    let unsigned = format!("{header}.{payload}.");
    let mut tampered = token.clone();
    tampered.insert_str(tampered.find('.').expect("a dot") + 1, "eyJ4IjoxfQ");

    for (name, token, code) in [
        ("expired", &expired, "TOKEN_EXPIRED"),
        ("wrong signature", &wrong_signature, "INVALID_TOKEN"),
        ("alg none", &unsigned, "INVALID_TOKEN"),
        ("tampered", &tampered, "INVALID_TOKEN"),
        ("garbage", &"garbage".to_owned(), "INVALID_TOKEN"),
    ] {
        let response = fleet.rest.get("/api/v1/auth/me", Auth::Bearer(token)).await;
        assert_eq!(
            response
                .headers()
                .get("www-authenticate")
                .map(|value| value.as_bytes()),
            Some(&b"Bearer"[..])
        );
        let json = expect_status(response, StatusCode::UNAUTHORIZED).await;
        assert_eq!(json["code"], code, "{name}");
    }
    let basic = fleet
        .rest
        .request(Method::GET, "/api/v1/auth/me", Auth::None)
        .header("Authorization", "Basic dTpw");
    expect_status(basic.send().await.expect("answered"), StatusCode::UNAUTHORIZED).await;
    let missing = expect_status(
        fleet.rest.get("/api/v1/auth/me", Auth::None).await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    assert_eq!(missing["code"], "UNAUTHENTICATED");
    expect_status(
        fleet.rest.get("/api/v1/auth/me", Auth::Key("gpx_unknown")).await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
}

async fn an_oversize_body_gets_413_before_it_is_read(mode: Mode) {
    let fleet = TestFleet::start_with(mode, &[("MAX_REQUEST_BODY_BYTES", "4096")]).await;
    let huge = json!({"email": fresh_email(), "password": PASSWORD, "name": "x".repeat(10_000)});

    let json = expect_status(
        fleet.rest.post("/api/v1/auth/register", Auth::None, &huge).await,
        StatusCode::PAYLOAD_TOO_LARGE,
    )
    .await;
    assert_eq!(json["code"], "PAYLOAD_TOO_LARGE");

    let chunked = fleet
        .rest
        .request(Method::POST, "/api/v1/auth/register", Auth::None)
        .header("Content-Type", "application/json")
        .body(reqwest::Body::wrap_stream(futures::stream::iter(
            (0..10).map(|_| Ok::<_, std::io::Error>(vec![b' '; 1024])),
        )))
        .send()
        .await
        .expect("answered");
    assert_eq!(
        expect_status(chunked, StatusCode::PAYLOAD_TOO_LARGE).await["code"],
        "PAYLOAD_TOO_LARGE"
    );
}

async fn unknown_routes_and_methods_get_coded_errors(mode: Mode) {
    let fleet = TestFleet::start(mode).await;
    let missing = expect_status(
        fleet.rest.get("/api/v1/nothing-here", Auth::None).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    assert_eq!(missing["code"], "NOT_FOUND");
    let wrong_method = fleet
        .rest
        .request(Method::PATCH, "/api/v1/auth/login", Auth::None)
        .send()
        .await
        .expect("answered");
    assert_eq!(
        expect_status(wrong_method, StatusCode::METHOD_NOT_ALLOWED).await["code"],
        "METHOD_NOT_ALLOWED"
    );
}

/// A launch configuration no offer can accept is refused before anything is listed, held or rented,
/// naming the field, however it arrives (a reservation, a create).
async fn a_launch_no_offer_can_accept_is_refused_before_anything_is_rented(mode: Mode) {
    let fleet = TestFleet::start(mode).await;
    let (_, token) = fleet.rest.new_user().await;
    let (_, key) = fleet.rest.create_key(&token).await;
    let config = json!({"image": "vllm/vllm-openai:latest", "env": {"-v /:/host": "1"}});
    let reserve = json!({"count": 2, "config": config});
    let refused = expect_status(
        fleet
            .rest
            .post("/api/v1/gpu/instances/reserve", Auth::Key(&key), &reserve)
            .await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert_eq!(
        (refused["code"].as_str(), refused["field"].as_str()),
        (Some("VALIDATION_FAILED"), Some("env"))
    );
    let offers = expect_status(
        fleet
            .rest
            .get("/api/v1/gpu/instances?page_size=1", Auth::Key(&key))
            .await,
        StatusCode::OK,
    )
    .await;
    let offer = &offers["data"][0];
    let path = format!(
        "/api/v1/gpu/instances/{}/{}",
        offer["provider"].as_str().expect("a provider"),
        offer["id"].as_str().expect("an id")
    );
    let refused = expect_status(
        fleet.rest.post(&path, Auth::Key(&key), &config).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert_eq!(refused["field"], "env", "{refused}");
    let mine = expect_status(
        fleet
            .rest
            .get("/api/v1/gpu/instances/mine?all=true", Auth::Key(&key))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(mine["count"], 0, "nothing was rented: {mine}");
    let simulator = fleet.simulator.as_ref().expect("the fleet's simulator");
    let rented = simulator.instance_count(gpuproxy_provider_sim::SimProvider::VastAi)
        + simulator.instance_count(gpuproxy_provider_sim::SimProvider::IoNet);
    assert_eq!(rented, 0, "no provider was asked");
}

crate::in_both_modes!(
    a_launch_no_offer_can_accept_is_refused_before_anything_is_rented,
    invalid_registrations_get_400_with_a_code,
    a_taken_email_gets_409,
    a_wrong_password_and_an_unknown_user_get_the_same_401,
    forged_expired_and_unsigned_tokens_get_401,
    an_oversize_body_gets_413_before_it_is_read,
    unknown_routes_and_methods_get_coded_errors,
);
