//! Typed REST calls for tests.

#![allow(
    clippy::expect_used,
    clippy::panic,
    reason = "test fixtures fail the test that uses them, loudly"
)]

use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde_json::{Value, json};

/// The password every test user gets.
pub const PASSWORD: &str = "secure-password";

/// Returns an email address no other test uses.
pub fn fresh_email() -> String {
    format!("user-{}@example.com", uuid::Uuid::now_v7().simple())
}

/// A REST client of one gateway.
#[derive(Debug, Clone)]
pub struct RestClient {
    base: String,
    client: reqwest::Client,
}

/// How a request authenticates.
#[derive(Debug, Clone, Copy)]
pub enum Auth<'a> {
    /// No credentials.
    None,
    /// `X-API-Key`.
    Key(&'a str),
    /// `Authorization: Bearer`.
    Bearer(&'a str),
}

impl RestClient {
    /// Returns a client of the gateway at `base` (`http://host:port`).
    pub fn new(base: &str) -> Self {
        RestClient {
            base: base.to_owned(),
            client: reqwest::Client::new(),
        }
    }

    /// Starts a request to `path` with `auth`.
    pub fn request(&self, method: Method, path: &str, auth: Auth<'_>) -> RequestBuilder {
        let request = self.client.request(method, format!("{}{path}", self.base));
        match auth {
            Auth::None => request,
            Auth::Key(key) => request.header("X-API-Key", key),
            Auth::Bearer(token) => request.bearer_auth(token),
        }
    }

    /// Sends `GET path`.
    pub async fn get(&self, path: &str, auth: Auth<'_>) -> Response {
        self.request(Method::GET, path, auth)
            .send()
            .await
            .expect("the gateway answers")
    }

    /// Sends `POST path` with a JSON body.
    pub async fn post(&self, path: &str, auth: Auth<'_>, body: &Value) -> Response {
        self.request(Method::POST, path, auth)
            .json(body)
            .send()
            .await
            .expect("the gateway answers")
    }

    /// Registers `email` with [`PASSWORD`]; returns the user's id.
    pub async fn register(&self, email: &str) -> String {
        let body = json!({"email": email, "password": PASSWORD, "name": "John Doe"});
        let response = self.post("/api/v1/auth/register", Auth::None, &body).await;
        let json = expect_status(response, StatusCode::CREATED).await;
        json["data"]["user_id"].as_str().expect("a user id").to_owned()
    }

    /// Logs `email` in; returns the JWT.
    pub async fn login(&self, email: &str) -> String {
        self.login_as(email, PASSWORD).await
    }

    /// Logs `email` in with `password`; returns the JWT.
    pub async fn login_as(&self, email: &str, password: &str) -> String {
        let body = json!({"email": email, "password": password});
        let json = expect_status(
            self.post("/api/v1/auth/login", Auth::None, &body).await,
            StatusCode::OK,
        )
        .await;
        json["data"]["token"].as_str().expect("a token").to_owned()
    }

    /// Creates an API key with `token`; returns `(key id, key)`.
    pub async fn create_key(&self, token: &str) -> (String, String) {
        let body = json!({"name": "My API Key"});
        let response = self.post("/api/v1/auth/apikey", Auth::Bearer(token), &body).await;
        let json = expect_status(response, StatusCode::CREATED).await;
        (
            json["data"]["id"].as_str().expect("an id").to_owned(),
            json["api_key"].as_str().expect("a key").to_owned(),
        )
    }

    /// Subscribes `url` to `events` with the user's API key; returns the answer's `data`.
    pub async fn subscribe_webhook(&self, key: &str, url: &str, events: &[&str]) -> Value {
        let body = json!({"url": url, "events": events});
        let response = self.post("/api/v1/webhooks", Auth::Key(key), &body).await;
        let mut answer = expect_status(response, StatusCode::OK).await;
        answer["data"].take()
    }

    /// Registers and logs in a fresh user; returns `(email, token)`.
    pub async fn new_user(&self) -> (String, String) {
        let email = fresh_email();
        self.register(&email).await;
        let token = self.login(&email).await;
        (email, token)
    }
}

/// Asserts the response's status and returns its JSON body.
pub async fn expect_status(response: Response, status: StatusCode) -> Value {
    let actual = response.status();
    let body = response.text().await.expect("a body");
    assert_eq!(actual, status, "body: {body}");
    serde_json::from_str(&body).unwrap_or(Value::Null)
}
