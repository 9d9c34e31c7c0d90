//! `FakeStripe`'s PaymentIntents endpoints against spec A1, A3 and A4.

use base64::Engine as _;
use serde_json::Value;

use crate::stripe_client::{self, SECRET_KEY, VISA_TOPUP, create, get, header, post};

#[tokio::test]
async fn a_confirmed_visa_payment_intent_succeeds_with_the_full_object() {
    let stripe = stripe_client::start().await;

    let response = post(&stripe, "/v1/payment_intents", VISA_TOPUP, None).await;

    assert_eq!(response.status(), 200);
    assert!(header(&response, "request-id").starts_with("req_"));
    let intent: Value = response.json().await.unwrap();
    assert_eq!(intent["object"], "payment_intent");
    assert_eq!(intent["status"], "succeeded");
    assert_eq!(intent["amount"], 2000);
    assert_eq!(intent["amount_received"], 2000);
    assert_eq!(intent["currency"], "usd");
    assert_eq!(intent["customer"], "cus_QXg1o8vcGmoR32");
    assert_eq!(intent["payment_method"], "pm_card_visa");
    assert_eq!(intent["payment_method_types"], serde_json::json!(["card"]));
    assert_eq!(intent["metadata"]["user_id"], "42");
    assert_eq!(intent["livemode"], false);
    assert_eq!(intent["capture_method"], "automatic");
    assert_eq!(intent["confirmation_method"], "automatic");
    assert!(intent["last_payment_error"].is_null());
    assert!(intent["latest_charge"].as_str().unwrap().starts_with("ch_"));
    let id = intent["id"].as_str().unwrap();
    assert!(id.starts_with("pi_"));
    assert!(
        intent["client_secret"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{id}_secret_"))
    );
    assert!(intent["created"].as_i64().unwrap() > 1_700_000_000);
    assert_eq!(stripe.executed_count(), 1);
    assert_eq!(stripe.payment_intent(id), Some(intent.clone()));

    let fetched = get(&stripe, &format!("/v1/payment_intents/{id}")).await;
    assert_eq!(fetched.status(), 200);
    assert!(header(&fetched, "request-id").starts_with("req_"));
    assert_eq!(fetched.json::<Value>().await.unwrap(), intent);
}

#[tokio::test]
async fn other_payment_methods_succeed_and_unconfirmed_intents_wait_for_confirmation() {
    let stripe = stripe_client::start().await;
    for payment_method in ["pm_card_mastercard", "pm_card_amex", "pm_1PgcUserSavedCard"] {
        let body = format!(
            "amount=500&currency=usd&payment_method={payment_method}&confirm=true\
             &automatic_payment_methods[enabled]=true&automatic_payment_methods[allow_redirects]=never"
        );
        let (status, intent) = create(&stripe, &body, None).await;
        assert_eq!((status, intent["status"].as_str()), (200, Some("succeeded")));
        assert_eq!(intent["automatic_payment_methods"]["allow_redirects"], "never");
    }

    let (status, intent) = create(
        &stripe,
        "amount=500&currency=usd&payment_method=pm_card_visa",
        None,
    )
    .await;
    assert_eq!(
        (status, intent["status"].as_str()),
        (200, Some("requires_confirmation"))
    );
    let (_, intent_without_method) = create(&stripe, "amount=500&currency=usd", None).await;
    assert_eq!(intent_without_method["status"], "requires_payment_method");
    assert_eq!(intent_without_method["amount_received"], 0);
    assert_eq!(stripe.payment_intents().len(), 5);
}

#[tokio::test]
async fn declined_cards_answer_402_card_errors_with_the_payment_intent_embedded() {
    let stripe = stripe_client::start().await;
    let cases = [
        ("pm_card_chargeDeclined", "card_declined", "generic_decline"),
        (
            "pm_card_chargeDeclinedInsufficientFunds",
            "card_declined",
            "insufficient_funds",
        ),
        (
            "pm_card_chargeDeclinedExpiredCard",
            "expired_card",
            "expired_card",
        ),
        (
            "pm_card_chargeDeclinedIncorrectCvc",
            "incorrect_cvc",
            "incorrect_cvc",
        ),
        (
            "pm_card_chargeDeclinedProcessingError",
            "processing_error",
            "processing_error",
        ),
    ];
    for (payment_method, code, decline_code) in cases {
        let body = VISA_TOPUP.replace("pm_card_visa", payment_method);

        let (status, body) = create(&stripe, &body, None).await;

        assert_eq!(status, 402, "{payment_method}");
        let error = &body["error"];
        assert_eq!(error["type"], "card_error");
        assert_eq!(error["code"], code);
        assert_eq!(error["decline_code"], decline_code);
        assert!(error["charge"].as_str().unwrap().starts_with("ch_"));
        let intent = &error["payment_intent"];
        assert_eq!(intent["status"], "requires_payment_method");
        assert_eq!(intent["amount_received"], 0);
        assert_eq!(intent["last_payment_error"]["code"], code);
        assert_eq!(intent["last_payment_error"]["decline_code"], decline_code);
        // The stored PaymentIntent is the one the error embedded.
        let id = intent["id"].as_str().unwrap();
        assert_eq!(stripe.payment_intent(id).as_ref(), Some(intent));
    }
    assert_eq!(stripe.executed_count(), cases.len());
}

#[tokio::test]
async fn authentication_is_required_on_session_and_declined_off_session() {
    let stripe = stripe_client::start().await;
    let on_session = "amount=900&currency=usd&payment_method=pm_card_authenticationRequired\
                      &confirm=true&payment_method_types[]=card";

    let (status, intent) = create(&stripe, on_session, None).await;
    assert_eq!(status, 200);
    assert_eq!(intent["status"], "requires_action");
    assert_eq!(intent["next_action"]["type"], "use_stripe_sdk");

    let with_return_url = format!("{on_session}&return_url=https://proxy.example/done");
    let (_, redirected) = create(&stripe, &with_return_url, None).await;
    assert_eq!(redirected["next_action"]["type"], "redirect_to_url");
    assert_eq!(
        redirected["next_action"]["redirect_to_url"]["return_url"],
        "https://proxy.example/done"
    );

    for refusing in ["off_session=true", "error_on_requires_action=true"] {
        let (status, body) = create(&stripe, &format!("{on_session}&{refusing}"), None).await;
        assert_eq!(status, 402, "{refusing}");
        assert_eq!(body["error"]["type"], "card_error");
        assert_eq!(body["error"]["code"], "authentication_required");
        assert_eq!(
            body["error"]["payment_intent"]["status"],
            "requires_payment_method"
        );
    }
}

#[tokio::test]
async fn raw_card_numbers_are_refused_and_nothing_is_created() {
    let stripe = stripe_client::start().await;
    for field in [
        "payment_method_data[card][number]",
        "card[number]",
        "source[number]",
    ] {
        let body = format!("amount=2000&currency=usd&confirm=true&{field}=4242424242424242");

        let (status, body) = create(&stripe, &body, None).await;

        assert_eq!(status, 402, "{field}");
        assert_eq!(body["error"]["type"], "invalid_request_error");
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .starts_with("Sending credit card numbers directly to the Stripe API is generally unsafe")
        );
    }
    assert_eq!(stripe.executed_count(), 0);
    assert!(stripe.payment_intents().is_empty());
    // The recorder keeps what arrived, so tests can prove a PAN never left the proxy.
    let raw = stripe.raw_requests();
    assert_eq!(raw.len(), 3);
    assert!(raw.iter().all(|body| body.contains("4242424242424242")));
}

#[tokio::test]
async fn invalid_parameters_are_400s_with_stripes_codes_and_create_nothing() {
    let stripe = stripe_client::start().await;
    let cases = [
        ("currency=usd", "parameter_missing", "amount"),
        ("amount=2000", "parameter_missing", "currency"),
        ("amount=20.00&currency=usd", "parameter_invalid_integer", "amount"),
        ("amount=49&currency=usd", "amount_too_small", "amount"),
        (
            "amount=2000&currency=usd&colour=red",
            "parameter_unknown",
            "colour",
        ),
        (
            "amount=2000&currency=usd&payment_method=4242424242424242",
            "resource_missing",
            "payment_method",
        ),
    ];
    for (body, code, param) in cases {
        let (status, answer) = create(&stripe, body, None).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(answer["error"]["type"], "invalid_request_error", "{body}");
        assert_eq!(answer["error"]["code"], code, "{body}");
        assert_eq!(answer["error"]["param"], param, "{body}");
    }
    // Confirming with automatic payment methods that may redirect needs a return_url.
    let (status, answer) = create(
        &stripe,
        "amount=2000&currency=usd&payment_method=pm_card_visa&confirm=true",
        None,
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("return_url")
    );
    assert_eq!(stripe.executed_count(), 0);
}

#[tokio::test]
async fn requests_need_the_secret_key_as_bearer_or_basic_user() {
    let stripe = stripe_client::start().await;
    let url = format!("{}/v1/payment_intents", stripe.base_url());
    let client = reqwest::Client::new();

    let anonymous = client.post(&url).body(VISA_TOPUP).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
    assert!(header(&anonymous, "request-id").starts_with("req_"));
    let body: Value = anonymous.json().await.unwrap();
    assert_eq!(body["error"]["type"], "invalid_request_error");

    let wrong = client
        .post(&url)
        .bearer_auth("sk_test_someoneElsesKey9876")
        .body(VISA_TOPUP)
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let body: Value = wrong.json().await.unwrap();
    assert_eq!(
        body["error"]["message"],
        "Invalid API Key provided: sk_test_****9876"
    );

    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{SECRET_KEY}:"));
    let accepted = client
        .post(&url)
        .header("authorization", format!("Basic {basic}"))
        .body(VISA_TOPUP)
        .send()
        .await
        .unwrap();
    assert_eq!(accepted.status(), 200);
    assert_eq!(stripe.executed_count(), 1);
}

#[tokio::test]
async fn unknown_payment_intents_and_urls_are_404s() {
    let stripe = stripe_client::start().await;

    let missing = get(&stripe, "/v1/payment_intents/pi_123").await;
    assert_eq!(missing.status(), 404);
    let body: Value = missing.json().await.unwrap();
    assert_eq!(body["error"]["code"], "resource_missing");
    assert_eq!(body["error"]["message"], "No such payment_intent: 'pi_123'");

    let unknown_url = get(&stripe, "/v1/charges_of_doom").await;
    assert_eq!(unknown_url.status(), 404);
    assert!(header(&unknown_url, "request-id").starts_with("req_"));
    assert_eq!(stripe.raw_requests().len(), 2);
}

#[tokio::test]
async fn cancel_ends_an_open_payment_intent_and_refuses_a_succeeded_one() {
    let stripe = stripe_client::start().await;
    let (_, open) = create(&stripe, "amount=700&currency=usd", None).await;
    let open_id = open["id"].as_str().unwrap();

    let canceled = post(
        &stripe,
        &format!("/v1/payment_intents/{open_id}/cancel"),
        "cancellation_reason=abandoned",
        None,
    )
    .await;
    assert_eq!(canceled.status(), 200);
    let canceled: Value = canceled.json().await.unwrap();
    assert_eq!(canceled["status"], "canceled");
    assert_eq!(canceled["cancellation_reason"], "abandoned");
    assert!(canceled["canceled_at"].is_i64());
    assert_eq!(stripe.payment_intent(open_id).unwrap()["status"], "canceled");

    let (_, succeeded) = create(&stripe, VISA_TOPUP, None).await;
    let succeeded_id = succeeded["id"].as_str().unwrap();
    let refused = post(
        &stripe,
        &format!("/v1/payment_intents/{succeeded_id}/cancel"),
        "",
        None,
    )
    .await;
    assert_eq!(refused.status(), 400);
    let refused: Value = refused.json().await.unwrap();
    assert_eq!(refused["error"]["code"], "payment_intent_unexpected_state");
    assert_eq!(refused["error"]["payment_intent"]["status"], "succeeded");

    let missing = post(&stripe, "/v1/payment_intents/pi_nope/cancel", "", None).await;
    assert_eq!(missing.status(), 404);
}
