//! End-to-end checks of URL vetting and redirect following against real servers on 127.0.0.1.
//!
//! Layout: `redirects/upstream.rs` runs the local servers; `redirects/targets.rs` checks direct targets
//! (literals, allow rules, the resolver); this file checks redirects. No test sends traffic anywhere but
//! 127.0.0.1: forbidden targets are refused before connecting, and names resolve through a static table.
#![expect(
    clippy::expect_used,
    reason = "helpers outside #[test] functions fail loudly at the step that broke"
)]

// A test crate root looks for modules beside itself, where Cargo would build them as separate binaries.
#[path = "redirects/targets.rs"]
mod targets;
#[path = "redirects/upstream.rs"]
mod upstream;

use std::collections::HashMap;

use axum::Router;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::http::header::{HeaderName, LOCATION};
use axum::routing::get;
use gpuproxy_egress::{EgressClient, EgressError, EgressPolicy, Lookup};
use reqwest::{Method, Request};

use crate::upstream::{Upstream, echo, redirect};

/// Builds a client allowing `rules`, whose lookups never leave the process.
pub fn client(rules: &str, names: &[(&str, &str)]) -> EgressClient {
    let table: HashMap<String, Vec<_>> = names
        .iter()
        .map(|(name, address)| {
            (
                name.to_string(),
                vec![address.parse().expect("a valid test address")],
            )
        })
        .collect();
    let policy = EgressPolicy::parse_list(rules).expect("valid test rules");
    EgressClient::builder(policy)
        .lookup(Lookup::Static(table))
        .build()
        .expect("the client builds")
}

/// Sends a GET for `url` through `client`.
pub async fn get_url(client: &EgressClient, url: reqwest::Url) -> Result<reqwest::Response, EgressError> {
    client.send(Request::new(Method::GET, url)).await
}

#[tokio::test]
async fn a_redirect_from_an_allow_listed_server_to_a_port_that_is_not_allow_listed_is_forbidden() {
    let target = Upstream::start(Router::new().route("/", get(|| async { "secret" }))).await;
    let origin =
        Upstream::start(Router::new().route("/", redirect(StatusCode::FOUND, target.url("/")))).await;
    let client = client(&origin.allow_rule(), &[]);

    let error = get_url(&client, origin.url("/"))
        .await
        .expect_err("the hop is not allow-listed");

    assert!(
        matches!(&error, EgressError::Forbidden { target, .. } if target == "127.0.0.1"),
        "{error}"
    );
    assert_eq!(origin.hits(), 1);
    assert_eq!(target.hits(), 0);
}

#[tokio::test]
async fn a_redirect_to_the_cloud_metadata_address_is_forbidden() {
    let metadata = "http://169.254.169.254/latest/meta-data";
    let origin = Upstream::start(Router::new().route("/", redirect(StatusCode::FOUND, metadata))).await;
    let client = client(&origin.allow_rule(), &[]);

    let error = get_url(&client, origin.url("/"))
        .await
        .expect_err("link-local is forbidden");

    assert_eq!(
        error.to_string(),
        "169.254.169.254 is a link-local address; the proxy only reaches public addresses and allow-listed hosts"
    );
}

#[tokio::test]
async fn a_relative_redirect_on_the_same_server_is_followed_to_the_final_body() {
    let router = Router::new()
        .route("/start", redirect(StatusCode::FOUND, "/final"))
        .route("/final", get(|| async { "final body" }));
    let origin = Upstream::start(router).await;
    let client = client(&origin.allow_rule(), &[]);

    let response = get_url(&client, origin.url("/start"))
        .await
        .expect("the redirect is followed");

    assert_eq!(response.status(), reqwest::StatusCode::OK);
    assert_eq!(response.url().path(), "/final");
    assert_eq!(response.text().await.expect("a body"), "final body");
    assert_eq!(origin.hits(), 2);
}

#[tokio::test]
async fn ten_redirects_are_followed() {
    let router = Router::new()
        .route("/hop/{remaining}", get(hop))
        .route("/done", get(|| async { "done" }));
    let origin = Upstream::start(router).await;
    let client = client(&origin.allow_rule(), &[]);

    let response = get_url(&client, origin.url("/hop/9"))
        .await
        .expect("ten redirects are allowed");

    assert_eq!(response.text().await.expect("a body"), "done");
    assert_eq!(origin.hits(), 11);
}

#[tokio::test]
async fn eleven_redirects_in_a_loop_fail_with_too_many_redirects() {
    let origin = Upstream::start(Router::new().route("/loop", redirect(StatusCode::FOUND, "/loop"))).await;
    let client = client(&origin.allow_rule(), &[]);

    let error = get_url(&client, origin.url("/loop"))
        .await
        .expect_err("the loop never ends");

    assert!(matches!(error, EgressError::TooManyRedirects), "{error}");
    assert_eq!(origin.hits(), 11, "the first request and ten followed redirects");
}

#[tokio::test]
async fn a_302_turns_a_post_into_a_get_without_its_body() {
    let router = Router::new()
        .route("/form", redirect(StatusCode::FOUND, "/echo"))
        .route("/echo", echo());
    let origin = Upstream::start(router).await;
    let client = client(&origin.allow_rule(), &[]);

    let response = client
        .send(post(origin.url("/form"), "payload"))
        .await
        .expect("followed");

    let body = response.text().await.expect("a body");
    assert_eq!(
        body,
        "method=GET authorization=yes x-api-key=yes content-type=no body="
    );
}

#[tokio::test]
async fn a_307_repeats_the_method_and_body() {
    let router = Router::new()
        .route("/form", redirect(StatusCode::TEMPORARY_REDIRECT, "/echo"))
        .route("/echo", echo());
    let origin = Upstream::start(router).await;
    let client = client(&origin.allow_rule(), &[]);

    let response = client
        .send(post(origin.url("/form"), "payload"))
        .await
        .expect("followed");

    let body = response.text().await.expect("a body");
    assert_eq!(
        body,
        "method=POST authorization=yes x-api-key=yes content-type=yes body=payload"
    );
}

#[tokio::test]
async fn a_307_for_a_streamed_body_is_returned_instead_of_followed() {
    let router = Router::new()
        .route("/form", redirect(StatusCode::TEMPORARY_REDIRECT, "/echo"))
        .route("/echo", echo());
    let origin = Upstream::start(router).await;
    let client = client(&origin.allow_rule(), &[]);
    let mut request = Request::new(Method::POST, origin.url("/form"));
    let chunks = futures::stream::iter([Ok::<_, std::io::Error>("pay"), Ok("load")]);
    *request.body_mut() = Some(reqwest::Body::wrap_stream(chunks));

    let response = client
        .send(request)
        .await
        .expect("the redirect itself is the response");

    assert_eq!(response.status(), reqwest::StatusCode::TEMPORARY_REDIRECT);
    assert_eq!(origin.hits(), 1);
}

#[tokio::test]
async fn credentials_are_dropped_when_a_redirect_changes_origin() {
    let other = Upstream::start(Router::new().route("/echo", echo())).await;
    let origin =
        Upstream::start(Router::new().route("/", redirect(StatusCode::FOUND, other.url("/echo")))).await;
    let client = client(&format!("{} {}", origin.allow_rule(), other.allow_rule()), &[]);

    let response = get_url_with_credentials(&client, origin.url("/")).await;

    let body = response.text().await.expect("a body");
    assert_eq!(
        body,
        "method=GET authorization=no x-api-key=no content-type=no body="
    );
}

#[tokio::test]
async fn credentials_are_kept_when_a_redirect_stays_on_the_same_origin() {
    let router = Router::new()
        .route("/", redirect(StatusCode::FOUND, "/echo"))
        .route("/echo", echo());
    let origin = Upstream::start(router).await;
    let client = client(&origin.allow_rule(), &[]);

    let response = get_url_with_credentials(&client, origin.url("/")).await;

    let body = response.text().await.expect("a body");
    assert_eq!(
        body,
        "method=GET authorization=yes x-api-key=yes content-type=no body="
    );
}

#[tokio::test]
async fn a_redirect_to_a_non_http_scheme_is_an_invalid_url() {
    let origin =
        Upstream::start(Router::new().route("/", redirect(StatusCode::FOUND, "file:///etc/passwd"))).await;
    let client = client(&origin.allow_rule(), &[]);

    let error = get_url(&client, origin.url("/"))
        .await
        .expect_err("file urls are refused");

    assert!(matches!(error, EgressError::InvalidUrl(_)), "{error}");
}

/// Redirects to `/hop/<remaining - 1>`, or to `/done` from `/hop/0`, so `/hop/9` takes ten redirects.
async fn hop(Path(remaining): Path<u32>) -> (StatusCode, [(HeaderName, String); 1]) {
    let location = match remaining {
        0 => "/done".to_owned(),
        _ => format!("/hop/{}", remaining - 1),
    };
    (StatusCode::FOUND, [(LOCATION, location)])
}

fn post(url: reqwest::Url, body: &'static str) -> Request {
    let mut request = Request::new(Method::POST, url);
    let headers = request.headers_mut();
    headers.insert("authorization", "Bearer secret".parse().expect("a valid header"));
    headers.insert("x-api-key", "secret".parse().expect("a valid header"));
    headers.insert("content-type", "text/plain".parse().expect("a valid header"));
    *request.body_mut() = Some(body.into());
    request
}

async fn get_url_with_credentials(client: &EgressClient, url: reqwest::Url) -> reqwest::Response {
    let mut request = Request::new(Method::GET, url);
    request
        .headers_mut()
        .insert("authorization", "Bearer secret".parse().expect("a valid header"));
    request
        .headers_mut()
        .insert("x-api-key", "secret".parse().expect("a valid header"));
    client.send(request).await.expect("the redirect is followed")
}
