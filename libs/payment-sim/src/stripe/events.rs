//! Webhook events (spec A6): the event object, its `Stripe-Signature`, and delivery.

use anyhow::{Context as _, bail};
use serde_json::{Value, json};

use crate::clock::unix_seconds;
use crate::ids;
use crate::signature::stripe_signature;
use crate::stripe::SendOptions;
use crate::stripe::payment_intent::{PaymentIntent, Status};
use crate::stripe::shared::StripeShared;
use crate::stripe::test_cards::GENERIC_DECLINE;

/// The API version events claim to be rendered with.
const API_VERSION: &str = "2024-06-20";

/// Settles a `processing` PaymentIntent and sends the matching event; see `FakeStripe::complete`.
pub(crate) async fn complete(
    stripe: &StripeShared,
    intent_id: &str,
    succeed: bool,
) -> anyhow::Result<(String, u16)> {
    let (url, event) = {
        let mut state = stripe.state();
        let url = webhook_url(state.webhook_url.as_deref())?;
        let intent = state
            .payment_intent_mut(intent_id)
            .with_context(|| format!("no PaymentIntent {intent_id}"))?;
        if intent.status != Status::Processing {
            bail!(
                "PaymentIntent {intent_id} is {}, not processing; only processing PaymentIntents settle",
                intent.status.as_str()
            );
        }
        let event_type = if succeed {
            intent.status = Status::Succeeded;
            intent.amount_received = intent.amount;
            "payment_intent.succeeded"
        } else {
            let charge_id = intent.latest_charge.clone().unwrap_or_default();
            let payment_method = intent.payment_method.clone().unwrap_or_default();
            intent.status = Status::RequiresPaymentMethod;
            intent.last_payment_error = GENERIC_DECLINE.error(&charge_id, &payment_method).object();
            intent.payment_method = None;
            "payment_intent.payment_failed"
        };
        // The settlement was not caused by an API request, so the event names none.
        let request = json!({"id": null, "idempotency_key": null});
        let event = event_object(&ids::alphanumeric("evt_", 24), event_type, intent, request);
        state.events.push(event.clone());
        (url, event)
    };
    let status = deliver(stripe, &url, &stripe.webhook_secret, unix_seconds(), &event).await?;
    Ok((event_id(&event), status))
}

/// Sends an event about the PaymentIntent as it is now; see `FakeStripe::send_event`.
pub(crate) async fn send_event(
    stripe: &StripeShared,
    event_type: &str,
    intent_id: &str,
    options: SendOptions,
) -> anyhow::Result<(String, u16)> {
    let (url, event) = {
        let mut state = stripe.state();
        let url = webhook_url(state.webhook_url.as_deref())?;
        let intent = state
            .payment_intent(intent_id)
            .with_context(|| format!("no PaymentIntent {intent_id}"))?;
        let request = json!({
            "id": intent.created_by_request,
            "idempotency_key": intent.idempotency_key,
        });
        let event_id = options
            .event_id
            .clone()
            .unwrap_or_else(|| ids::alphanumeric("evt_", 24));
        let event = event_object(&event_id, event_type, intent, request);
        state.events.push(event.clone());
        (url, event)
    };
    let secret = options.secret.as_deref().unwrap_or(&stripe.webhook_secret);
    let timestamp = unix_seconds().saturating_add(options.timestamp_offset_secs);
    let status = deliver(stripe, &url, secret, timestamp, &event).await?;
    Ok((event_id(&event), status))
}

fn webhook_url(url: Option<&str>) -> anyhow::Result<String> {
    url.map(str::to_owned)
        .context("no webhook url: call FakeStripe::set_webhook_url first")
}

fn event_object(event_id: &str, event_type: &str, intent: &PaymentIntent, request: Value) -> Value {
    let mut data = json!({"object": intent.to_json()});
    if event_type.ends_with(".updated") {
        data["previous_attributes"] = json!({});
    }
    json!({
        "id": event_id,
        "object": "event",
        "type": event_type,
        "api_version": API_VERSION,
        "created": unix_seconds(),
        "livemode": intent.livemode,
        "pending_webhooks": 1,
        "request": request,
        "data": data,
    })
}

fn event_id(event: &Value) -> String {
    event["id"].as_str().unwrap_or_default().to_owned()
}

/// POSTs `event` as Stripe does: pretty-printed JSON (so a receiver that re-serialises before
/// verifying fails, as it would in production) signed over those exact bytes.
async fn deliver(
    stripe: &StripeShared,
    url: &str,
    secret: &str,
    timestamp: i64,
    event: &Value,
) -> anyhow::Result<u16> {
    let body = serde_json::to_vec_pretty(event).context("serialising the event")?;
    let signature = stripe_signature(secret, timestamp, &body);
    let response = stripe
        .http
        .post(url)
        .header("content-type", "application/json; charset=utf-8")
        .header("stripe-signature", signature)
        .body(body)
        .send()
        .await
        .with_context(|| format!("delivering the event to {url}"))?;
    Ok(response.status().as_u16())
}
