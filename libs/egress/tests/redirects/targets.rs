//! Direct targets: IP literals, allow rules, names resolved by the guarded resolver, and malformed URLs.

use axum::Router;
use axum::routing::get;
use gpuproxy_egress::{EgressError, Route};

use crate::upstream::Upstream;
use crate::{client, get_url};

async fn hello_server() -> Upstream {
    Upstream::start(Router::new().route("/", get(|| async { "hello" }))).await
}

#[tokio::test]
async fn a_loopback_literal_without_an_allow_rule_is_forbidden_before_any_request() {
    let server = hello_server().await;
    let client = client("", &[]);

    let error = get_url(&client, server.url("/"))
        .await
        .expect_err("loopback is forbidden");

    assert_eq!(
        error.to_string(),
        "127.0.0.1 is a loopback address; the proxy only reaches public addresses and allow-listed hosts"
    );
    assert_eq!(server.hits(), 0);
}

#[tokio::test]
async fn an_allow_listed_loopback_address_and_port_is_reached() {
    let server = hello_server().await;
    let client = client(&server.allow_rule(), &[]);

    let response = get_url(&client, server.url("/"))
        .await
        .expect("the target is allow-listed");

    assert_eq!(response.status(), reqwest::StatusCode::OK);
    assert_eq!(response.text().await.expect("a body"), "hello");
    assert_eq!(server.hits(), 1);
}

#[tokio::test]
async fn an_allow_rule_for_another_port_does_not_open_this_one() {
    let server = hello_server().await;
    let other_port = if server.port() == u16::MAX {
        1
    } else {
        server.port() + 1
    };
    let client = client(&format!("127.0.0.1:{other_port}"), &[]);

    let error = get_url(&client, server.url("/"))
        .await
        .expect_err("the port differs");

    assert!(matches!(error, EgressError::Forbidden { .. }), "{error}");
    assert_eq!(server.hits(), 0);
}

#[tokio::test]
async fn loopback_spelled_as_ipv6_mapped_or_decimal_is_forbidden() {
    let server = hello_server().await;
    let client = client("", &[]);

    for url in [
        format!("http://[::1]:{}/", server.port()),
        format!("http://[::ffff:127.0.0.1]:{}/", server.port()),
        format!("http://2130706433:{}/", server.port()),
        format!("http://0x7f.1:{}/", server.port()),
    ] {
        let url: reqwest::Url = url.parse().expect("a valid url");
        let error = get_url(&client, url.clone())
            .await
            .expect_err("loopback in disguise");
        assert!(matches!(error, EgressError::Forbidden { .. }), "{url}: {error}");
    }
    assert_eq!(server.hits(), 0);
}

#[tokio::test]
async fn a_name_resolving_to_a_private_address_is_refused_by_the_resolver() {
    let client = client("", &[("internal.test", "10.0.0.1")]);
    let url: reqwest::Url = "http://internal.test:8080/".parse().expect("a valid url");
    assert_eq!(client.check_url(&url).expect("a plausible url"), Route::Guarded);

    let error = get_url(&client, url).await.expect_err("10.0.0.1 is private");

    let EgressError::Forbidden { target, reason } = &error else {
        panic!("expected a refusal, got {error:?}");
    };
    assert_eq!(target, "internal.test");
    assert_eq!(reason, "resolves to 10.0.0.1, a private address");
}

#[tokio::test]
async fn a_name_rebound_to_loopback_is_refused_before_connecting() {
    let server = hello_server().await;
    let client = client("", &[("rebound.test", "127.0.0.1")]);
    let url = format!("http://rebound.test:{}/", server.port())
        .parse()
        .expect("a valid url");

    let error = get_url(&client, url).await.expect_err("127.0.0.1 is loopback");

    assert!(matches!(error, EgressError::Forbidden { .. }), "{error}");
    assert_eq!(server.hits(), 0);
}

#[tokio::test]
async fn a_name_resolving_into_an_allow_listed_network_is_reached() {
    let server = hello_server().await;
    let client = client("127.0.0.0/8", &[("local.test", "127.0.0.1")]);
    let url = format!("http://local.test:{}/", server.port())
        .parse()
        .expect("a valid url");

    let response = get_url(&client, url).await.expect("127/8 is allow-listed");

    assert_eq!(response.text().await.expect("a body"), "hello");
}

#[tokio::test]
async fn an_allow_listed_name_is_reached_whatever_it_resolves_to() {
    let server = hello_server().await;
    let client = client(
        &format!("local.test:{}", server.port()),
        &[("local.test", "127.0.0.1")],
    );
    let url: reqwest::Url = format!("http://LOCAL.test:{}/", server.port())
        .parse()
        .expect("a valid url");
    assert_eq!(client.check_url(&url).expect("allow-listed"), Route::AllowListed);

    let response = get_url(&client, url).await.expect("the name is allow-listed");

    assert_eq!(response.text().await.expect("a body"), "hello");
}

#[tokio::test]
async fn urls_that_are_not_http_are_invalid() {
    let client = client("", &[]);

    for text in [
        "ftp://x",
        "file:///etc/passwd",
        "data:text/plain,hello",
        "unix:/run/docker.sock",
    ] {
        let url: reqwest::Url = text.parse().expect("a parseable url");
        let error = get_url(&client, url)
            .await
            .expect_err("only http and https are allowed");
        assert!(matches!(error, EgressError::InvalidUrl(_)), "{text}: {error}");
    }
}

#[tokio::test]
async fn an_http_url_without_a_host_cannot_exist() {
    // The WHATWG parser skips extra slashes in http URLs ("http:///nohost" is "http://nohost/") and refuses
    // an empty host, so `check_url` can never see a host-less http URL; this pins that assumption.
    let normalised: reqwest::Url = "http:///nohost".parse().expect("extra slashes are skipped");
    assert_eq!(normalised.host_str(), Some("nohost"));
    assert!("http://".parse::<reqwest::Url>().is_err());
    assert!("http://:80/".parse::<reqwest::Url>().is_err());
}
