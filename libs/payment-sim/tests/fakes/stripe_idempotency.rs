//! `FakeStripe`'s idempotency (spec A2) and injected failures.

use serde_json::Value;

use crate::stripe_client::{self, VISA_TOPUP, create, header, post};

#[tokio::test]
async fn a_retry_with_the_same_key_replays_the_first_answer_without_executing_again() {
    let stripe = stripe_client::start().await;
    let first = post(&stripe, "/v1/payment_intents", VISA_TOPUP, Some("topup-42")).await;
    assert_eq!(header(&first, "idempotent-replayed"), "");
    let first: Value = first.json().await.unwrap();

    let retry = post(&stripe, "/v1/payment_intents", VISA_TOPUP, Some("topup-42")).await;

    assert_eq!(retry.status(), 200);
    assert_eq!(header(&retry, "idempotent-replayed"), "true");
    assert_eq!(retry.json::<Value>().await.unwrap(), first);
    assert_eq!(stripe.executed_count(), 1);
    assert_eq!(stripe.payment_intents().len(), 1);
}

#[tokio::test]
async fn the_same_parameters_in_another_order_are_the_same_request() {
    let stripe = stripe_client::start().await;
    let (_, first) = create(&stripe, "amount=900&currency=usd&metadata[a]=1", Some("k")).await;

    let reordered = post(
        &stripe,
        "/v1/payment_intents",
        "metadata[a]=1&currency=usd&amount=900",
        Some("k"),
    )
    .await;

    assert_eq!(header(&reordered, "idempotent-replayed"), "true");
    assert_eq!(reordered.json::<Value>().await.unwrap()["id"], first["id"]);
    assert_eq!(stripe.executed_count(), 1);
}

#[tokio::test]
async fn the_same_key_with_other_parameters_is_a_400_idempotency_error() {
    let stripe = stripe_client::start().await;
    create(&stripe, VISA_TOPUP, Some("topup-42")).await;

    let other = VISA_TOPUP.replace("amount=2000", "amount=3000");
    let (status, body) = create(&stripe, &other, Some("topup-42")).await;

    assert_eq!(status, 400);
    assert_eq!(body["error"]["type"], "idempotency_error");
    assert!(body["error"]["message"].as_str().unwrap().contains("'topup-42'"));
    assert_eq!(stripe.executed_count(), 1);
}

#[tokio::test]
async fn a_declined_first_attempt_is_stored_and_replayed_as_the_same_402() {
    let stripe = stripe_client::start().await;
    let declined = VISA_TOPUP.replace("pm_card_visa", "pm_card_chargeDeclined");
    let (first_status, first) = create(&stripe, &declined, Some("k1")).await;

    let retry = post(&stripe, "/v1/payment_intents", &declined, Some("k1")).await;

    assert_eq!((first_status, retry.status().as_u16()), (402, 402));
    assert_eq!(header(&retry, "idempotent-replayed"), "true");
    assert_eq!(retry.json::<Value>().await.unwrap(), first);
    assert_eq!(stripe.executed_count(), 1);
}

#[tokio::test]
async fn injected_failures_store_nothing_so_the_retry_with_the_same_key_executes() {
    let stripe = stripe_client::start().await;
    stripe.fail_next(500, 1);

    let failed = post(&stripe, "/v1/payment_intents", VISA_TOPUP, Some("k2")).await;
    assert_eq!(failed.status(), 500);
    assert_eq!(
        failed.json::<Value>().await.unwrap()["error"]["type"],
        "api_error"
    );
    assert_eq!(stripe.executed_count(), 0);

    let retry = post(&stripe, "/v1/payment_intents", VISA_TOPUP, Some("k2")).await;
    assert_eq!(retry.status(), 200);
    assert_eq!(header(&retry, "idempotent-replayed"), "");
    assert_eq!(stripe.executed_count(), 1);
}

#[tokio::test]
async fn an_injected_429_is_a_rate_limit_error_for_as_many_posts_as_asked() {
    let stripe = stripe_client::start().await;
    stripe.fail_next(429, 2);

    for _ in 0..2 {
        let limited = post(&stripe, "/v1/payment_intents", VISA_TOPUP, Some("k3")).await;
        assert_eq!(limited.status(), 429);
        assert_eq!(header(&limited, "stripe-rate-limited-reason"), "global-rate");
        let body: Value = limited.json().await.unwrap();
        assert_eq!(body["error"]["code"], "rate_limit");
    }
    let (status, _) = create(&stripe, VISA_TOPUP, Some("k3")).await;
    assert_eq!(status, 200);
    assert_eq!(stripe.executed_count(), 1);
}

#[tokio::test]
async fn a_request_refused_by_validation_leaves_its_key_free_for_the_corrected_request() {
    let stripe = stripe_client::start().await;
    let (status, _) = create(&stripe, "currency=usd", Some("k4")).await;
    assert_eq!(status, 400);

    let (status, intent) = create(&stripe, VISA_TOPUP, Some("k4")).await;

    assert_eq!(status, 200);
    assert_eq!(intent["status"], "succeeded");
    assert_eq!(stripe.executed_count(), 1);
}

#[tokio::test]
async fn a_key_whose_first_request_is_still_executing_is_a_409_in_use() {
    let stripe = stripe_client::start().await;
    let hold = stripe.hold_executions().await;

    let first = post(&stripe, "/v1/payment_intents", VISA_TOPUP, Some("k5"));
    let second = async {
        while stripe.held_executions() == 0 {
            tokio::task::yield_now().await;
        }
        let second = post(&stripe, "/v1/payment_intents", VISA_TOPUP, Some("k5")).await;
        drop(hold);
        second
    };
    let (first, second) = tokio::join!(first, second);

    assert_eq!(second.status(), 409);
    assert_eq!(header(&second, "stripe-should-retry"), "true");
    let body: Value = second.json().await.unwrap();
    assert_eq!(body["error"]["type"], "idempotency_error");
    assert_eq!(body["error"]["code"], "idempotency_key_in_use");
    assert_eq!(first.status(), 200);
    assert_eq!(stripe.executed_count(), 1);

    let after = post(&stripe, "/v1/payment_intents", VISA_TOPUP, Some("k5")).await;
    assert_eq!(header(&after, "idempotent-replayed"), "true");
}
