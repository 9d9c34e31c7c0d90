//! Browsers: preflights are answered and answers carry the CORS headers, on the router's routes and
//! on the streaming route alike, for any origin or a configured list.

use gpuproxy_integration_tests::{Auth, Mode, TestFleet, expect_status};
use reqwest::{Method, StatusCode};

use crate::rentals::{destroy_all, reserve, running, user_key};

const APP: &str = "https://app.example.com";

async fn preflight(fleet: &TestFleet, path: &str, origin: &str) -> reqwest::Response {
    fleet
        .rest
        .request(Method::OPTIONS, path, Auth::None)
        .header("Origin", origin)
        .header("Access-Control-Request-Method", "POST")
        .header("Access-Control-Request-Headers", "x-api-key, content-type")
        .send()
        .await
        .expect("answered")
}

fn header<'a>(response: &'a reqwest::Response, name: &str) -> Option<&'a str> {
    response
        .headers()
        .get(name)
        .map(|value| value.to_str().expect("text"))
}

async fn any_origin_may_call_the_api_and_the_streaming_route(mode: Mode) {
    let fleet = TestFleet::start(mode).await;
    let key = user_key(&fleet).await;
    reserve(&fleet, &key, 1, "vast.ai").await;
    running(&fleet, &key, 1).await;

    for path in ["/api/v1/gpu/route/v1/chat/completions", "/api/v1/auth/me"] {
        let answered = preflight(&fleet, path, APP).await;
        assert_eq!(answered.status(), StatusCode::OK, "{path}");
        assert_eq!(
            header(&answered, "access-control-allow-origin"),
            Some("*"),
            "{path}"
        );
        let methods = header(&answered, "access-control-allow-methods").expect("methods");
        assert!(methods.contains("POST"), "{path}: {methods}");
        let headers = header(&answered, "access-control-allow-headers").expect("headers");
        assert!(headers.contains("x-api-key"), "{path}: {headers}");
    }

    for path in ["/api/v1/gpu/route/health", "/api/v1/auth/me"] {
        let from_app = fleet
            .rest
            .request(Method::GET, path, Auth::Key(&key))
            .header("Origin", APP)
            .send()
            .await
            .expect("answered");
        assert_eq!(from_app.status(), StatusCode::OK, "{path}");
        assert_eq!(
            header(&from_app, "access-control-allow-origin"),
            Some("*"),
            "{path}"
        );
        let exposed = header(&from_app, "access-control-expose-headers").expect("exposed");
        assert!(exposed.contains("x-request-id"), "{path}: {exposed}");
    }
    // No browser, no CORS headers on the streaming route.
    let no_browser = fleet.rest.get("/api/v1/gpu/route/health", Auth::Key(&key)).await;
    assert_eq!(no_browser.status(), StatusCode::OK);
    assert_eq!(header(&no_browser, "access-control-allow-origin"), None);
    destroy_all(&fleet, &key).await;
}

async fn only_listed_origins_may_call_the_streaming_route(mode: Mode) {
    let fleet = TestFleet::start_with(mode, &[("CORS_ALLOWED_ORIGINS", APP)]).await;
    let key = user_key(&fleet).await;
    reserve(&fleet, &key, 1, "vast.ai").await;
    running(&fleet, &key, 1).await;

    let allowed = preflight(&fleet, "/api/v1/gpu/route/v1/chat/completions", APP).await;
    assert_eq!(header(&allowed, "access-control-allow-origin"), Some(APP));
    let other = preflight(
        &fleet,
        "/api/v1/gpu/route/v1/chat/completions",
        "https://evil.example",
    )
    .await;
    assert_eq!(header(&other, "access-control-allow-origin"), None);

    for (origin, expected) in [(APP, Some(APP)), ("https://evil.example", None)] {
        let answered = fleet
            .rest
            .request(Method::GET, "/api/v1/gpu/route/health", Auth::Key(&key))
            .header("Origin", origin)
            .send()
            .await
            .expect("answered");
        assert_eq!(
            header(&answered, "access-control-allow-origin"),
            expected,
            "{origin}"
        );
        assert!(
            header(&answered, "vary").is_some_and(|vary| vary.contains("origin")),
            "{origin}"
        );
        // CORS is the browser's business: the request itself is served either way.
        expect_status(answered, StatusCode::OK).await;
    }
    destroy_all(&fleet, &key).await;
}

crate::in_both_modes!(
    any_origin_may_call_the_api_and_the_streaming_route,
    only_listed_origins_may_call_the_streaming_route,
);
