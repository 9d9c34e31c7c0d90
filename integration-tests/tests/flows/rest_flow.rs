//! Register → login → API key → authenticated calls with the key and with the JWT, over REST.

use gpuproxy_integration_tests::{Auth, Mode, TestFleet, expect_status, fresh_email};
use reqwest::{Method, StatusCode};
use serde_json::json;

async fn a_new_user_reaches_authenticated_routes_with_key_and_token(mode: Mode) {
    let fleet = TestFleet::start(mode).await;
    let email = fresh_email();

    let user_id = fleet.rest.register(&email).await;
    let token = fleet.rest.login(&email).await;
    let (key_id, key) = fleet.rest.create_key(&token).await;

    for (auth, method) in [
        (Auth::Key(&key), "api_key"),
        (Auth::Bearer(&token), "jwt"),
        (Auth::Bearer(&key), "api_key"),
    ] {
        let me = expect_status(fleet.rest.get("/api/v1/auth/me", auth).await, StatusCode::OK).await;
        assert_eq!(me["data"]["user_id"], user_id);
        assert_eq!(me["data"]["email"], email);
        assert_eq!(me["data"]["auth_method"], method);
        assert_eq!(me["status"], "success");
    }
    let keys = expect_status(
        fleet.rest.get("/api/v1/auth/apikey", Auth::Key(&key)).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(keys["count"], 1);
    assert_eq!(keys["data"][0]["id"], key_id);
    assert!(
        keys["data"][0].get("api_key").is_none(),
        "a listing never shows the key"
    );
    assert!(key.starts_with(keys["data"][0]["prefix"].as_str().expect("a prefix")));
}

async fn the_seed_response_shapes_are_kept(mode: Mode) {
    let fleet = TestFleet::start(mode).await;
    let (_, token) = fleet.rest.new_user().await;

    let created = fleet
        .rest
        .post(
            "/api/v1/auth/apikey",
            Auth::Bearer(&token),
            &json!({"name": "New Key"}),
        )
        .await;
    let json = expect_status(created, StatusCode::CREATED).await;

    // `jq -r '.api_key'` from the seed's key-rotation example, and the documented envelope.
    assert!(
        json["api_key"]
            .as_str()
            .expect("top-level api_key")
            .starts_with("gpx_")
    );
    assert_eq!(json["data"]["api_key"], json["api_key"]);
    assert_eq!(json["status"], "success");
}

async fn logout_ends_the_token_but_not_the_keys(mode: Mode) {
    let fleet = TestFleet::start(mode).await;
    let (_, token) = fleet.rest.new_user().await;
    let (_, key) = fleet.rest.create_key(&token).await;

    let logout = fleet
        .rest
        .post("/api/v1/auth/logout", Auth::Bearer(&token), &json!({}))
        .await;
    expect_status(logout, StatusCode::OK).await;

    let after = expect_status(
        fleet.rest.get("/api/v1/auth/me", Auth::Bearer(&token)).await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    assert_eq!(after["code"], "INVALID_TOKEN");
    expect_status(
        fleet.rest.get("/api/v1/auth/me", Auth::Key(&key)).await,
        StatusCode::OK,
    )
    .await;
    let with_key = fleet
        .rest
        .post("/api/v1/auth/logout", Auth::Key(&key), &json!({}))
        .await;
    assert_eq!(
        expect_status(with_key, StatusCode::BAD_REQUEST).await["code"],
        "VALIDATION_FAILED"
    );
}

async fn admins_list_users_and_others_are_refused(mode: Mode) {
    let admin = [
        ("BOOTSTRAP_ADMIN_EMAIL", "root@example.com"),
        ("BOOTSTRAP_ADMIN_PASSWORD", "root-password"),
    ];
    let fleet = TestFleet::start_with(mode, &admin).await;
    let (email, token) = fleet.rest.new_user().await;
    let login = json!({"email": "root@example.com", "password": "root-password"});
    let admin_token = expect_status(
        fleet.rest.post("/api/v1/auth/login", Auth::None, &login).await,
        StatusCode::OK,
    )
    .await["token"]
        .as_str()
        .expect("a token")
        .to_owned();

    let users = expect_status(
        fleet
            .rest
            .get("/api/v1/admin/users", Auth::Bearer(&admin_token))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(users["count"], 2);
    assert_eq!(users["data"][0]["email"], "root@example.com");
    assert_eq!(users["data"][0]["is_admin"], true);
    assert_eq!(users["data"][1]["email"], email);

    let denied = expect_status(
        fleet.rest.get("/api/v1/admin/users", Auth::Bearer(&token)).await,
        StatusCode::FORBIDDEN,
    )
    .await;
    assert_eq!(denied["code"], "FORBIDDEN");
    expect_status(
        fleet.rest.get("/api/v1/admin/users", Auth::None).await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
}

async fn users_see_and_revoke_only_their_own_keys(mode: Mode) {
    let fleet = TestFleet::start(mode).await;
    let (_, owner) = fleet.rest.new_user().await;
    let (_, intruder) = fleet.rest.new_user().await;
    let (key_id, key) = fleet.rest.create_key(&owner).await;

    let listing = expect_status(
        fleet
            .rest
            .get("/api/v1/auth/apikey", Auth::Bearer(&intruder))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(listing["count"], 0);
    let attempt = fleet
        .rest
        .request(
            Method::DELETE,
            &format!("/api/v1/auth/apikey/{key_id}"),
            Auth::Bearer(&intruder),
        )
        .send()
        .await
        .expect("answered");
    assert_eq!(
        expect_status(attempt, StatusCode::NOT_FOUND).await["code"],
        "NOT_FOUND"
    );
    expect_status(
        fleet.rest.get("/api/v1/auth/me", Auth::Key(&key)).await,
        StatusCode::OK,
    )
    .await;
}

crate::in_both_modes!(
    a_new_user_reaches_authenticated_routes_with_key_and_token,
    the_seed_response_shapes_are_kept,
    logout_ends_the_token_but_not_the_keys,
    admins_list_users_and_others_are_refused,
    users_see_and_revoke_only_their_own_keys,
);
