//! A minimal Stripe client for the tests: form bodies written by hand, so the bracket notation
//! on the wire is exactly what the test says.

use gpuproxy_payment_sim::FakeStripe;
use reqwest::Response;
use serde_json::Value;

pub const SECRET_KEY: &str = "sk_test_4eC39HqLyjWDarjtT1zdp7dc";
pub const WEBHOOK_SECRET: &str = "whsec_test_secret";

/// A confirmed, off-session card payment as the billing service sends it.
pub const VISA_TOPUP: &str = "amount=2000&currency=usd&customer=cus_QXg1o8vcGmoR32\
    &payment_method=pm_card_visa&confirm=true&off_session=true\
    &payment_method_types[]=card&metadata[user_id]=42";

/// Starts a fake account with the test keys.
pub async fn start() -> FakeStripe {
    FakeStripe::start(SECRET_KEY, WEBHOOK_SECRET).await.unwrap()
}

/// POSTs `body` to `path` with the account's key and, if given, an idempotency key.
pub async fn post(stripe: &FakeStripe, path: &str, body: &str, key: Option<&str>) -> Response {
    let mut request = reqwest::Client::new()
        .post(format!("{}{path}", stripe.base_url()))
        .bearer_auth(SECRET_KEY)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body.to_owned());
    if let Some(key) = key {
        request = request.header("idempotency-key", key);
    }
    request.send().await.unwrap()
}

/// Creates a PaymentIntent from `body` and returns the status and JSON answer.
pub async fn create(stripe: &FakeStripe, body: &str, key: Option<&str>) -> (u16, Value) {
    let response = post(stripe, "/v1/payment_intents", body, key).await;
    (response.status().as_u16(), response.json().await.unwrap())
}

/// GETs `path` with the account's key.
pub async fn get(stripe: &FakeStripe, path: &str) -> Response {
    reqwest::Client::new()
        .get(format!("{}{path}", stripe.base_url()))
        .bearer_auth(SECRET_KEY)
        .send()
        .await
        .unwrap()
}

/// Returns a header of `response` as text, or "" when absent.
pub fn header(response: &Response, name: &str) -> String {
    response
        .headers()
        .get(name)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}
