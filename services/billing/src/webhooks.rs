//! Processor webhooks: Stripe's signed events and the crypto processor's signed callbacks. Nothing
//! is acted on before its signature is checked over the raw body.

use gpuproxy_config::{ExposeSecret, SecretString};
use gpuproxy_domain::now_ms;
use serde_json::Value;

use crate::error::Error;
use crate::payments::Applied;
use crate::processor::stripe_outcome;
use crate::repo::payments::{self as repo, PaymentRow};
use crate::repo::webhooks;
use crate::service::Billing;

/// How far a Stripe signature's timestamp may be from now (the official libraries' default).
pub const STRIPE_TOLERANCE_SECS: i64 = 300;

impl Billing {
    /// Handles a webhook of `provider` (`stripe` or `crypto`) with its signature header and raw body;
    /// returns what it did and the payment it concerned.
    pub async fn handle_webhook(
        &self,
        provider: &str,
        signature: &str,
        body: &[u8],
    ) -> Result<(Applied, Option<String>), Error> {
        match provider {
            "stripe" => self.stripe_event(signature, body).await,
            "crypto" => self.crypto_callback(signature, body).await,
            _ => Err(Error::invalid("provider", "webhooks come from stripe or crypto")),
        }
    }

    async fn stripe_event(&self, signature: &str, body: &[u8]) -> Result<(Applied, Option<String>), Error> {
        let secret = self
            .stripe_webhook_secret()
            .ok_or(Error::NotConfigured("stripe webhook"))?;
        verify_stripe_signature(secret, signature, body, now_ms() / 1000)?;
        let event: Value =
            serde_json::from_slice(body).map_err(|_| Error::invalid("body", "is not a Stripe event"))?;
        let (Some(event_id), Some(kind)) = (event["id"].as_str(), event["type"].as_str()) else {
            return Err(Error::invalid("body", "is not a Stripe event"));
        };
        let intent = &event["data"]["object"];
        let acted_on = matches!(
            kind,
            "payment_intent.succeeded" | "payment_intent.payment_failed" | "payment_intent.canceled"
        );
        let payment = if acted_on {
            self.stripe_payment(intent).await?
        } else {
            None
        };
        let Some(payment) = payment else {
            // Recorded anyway, so that a replay of it is told apart from a new event.
            return match webhooks::insert(self.database().pool(), "stripe", event_id, now_ms()).await {
                Ok(()) => Ok((Applied::StillPending, None)),
                Err(error) if gpuproxy_db::is_unique_violation(&error) => Ok((Applied::Unchanged, None)),
                Err(error) => Err(error.into()),
            };
        };
        let outcome = stripe_outcome(intent);
        let applied = self.apply(&payment, &outcome, Some(("stripe", event_id))).await?;
        Ok((applied, Some(payment.id)))
    }

    /// The payment a PaymentIntent stands for: by our id in its metadata, checked against its id.
    async fn stripe_payment(&self, intent: &Value) -> Result<Option<PaymentRow>, Error> {
        let reference = intent["id"].as_str().unwrap_or_default();
        if let Some(found) = repo::find_by_reference(self.database().pool(), "stripe", reference).await? {
            return Ok(Some(found));
        }
        let Some(payment_id) = intent["metadata"]["payment_id"].as_str() else {
            return Ok(None);
        };
        let found = repo::find(self.database().pool(), payment_id).await?;
        Ok(found.filter(|payment| {
            payment.provider == "stripe"
                && payment
                    .provider_reference
                    .as_deref()
                    .is_none_or(|known| known == reference)
        }))
    }

    async fn crypto_callback(
        &self,
        signature: &str,
        body: &[u8],
    ) -> Result<(Applied, Option<String>), Error> {
        let secret = self
            .crypto_ipn_secret()
            .ok_or(Error::NotConfigured("crypto webhook"))?;
        if !crate::processor::verify_ipn(secret, body, signature) {
            return Err(Error::Signature(
                "the x-nowpayments-sig signature does not match".to_owned(),
            ));
        }
        let callback: Value =
            serde_json::from_slice(body).map_err(|_| Error::invalid("body", "is not a payment callback"))?;
        let reference = match &callback["payment_id"] {
            Value::String(text) => text.clone(),
            Value::Number(number) => number.to_string(),
            _ => return Err(Error::invalid("body", "has no payment_id")),
        };
        let mut payment = repo::find_by_reference(self.database().pool(), "crypto", &reference).await?;
        if payment.is_none()
            && let Some(order_id) = callback["order_id"].as_str()
        {
            payment = repo::find(self.database().pool(), order_id)
                .await?
                .filter(|found| found.provider == "crypto");
        }
        let Some(payment) = payment else {
            return Ok((Applied::Unchanged, None));
        };
        // The callback carries no timestamp and could be replayed: only the processor's own answer
        // to a lookup is acted on.
        let processor = self.processor(crate::method::ProviderKind::Crypto)?;
        let outcome = processor
            .lookup(&reference)
            .await
            .map_err(|error| Error::Processor(error.to_string()))?;
        let status = callback["payment_status"].as_str().unwrap_or("unknown");
        let event_id = format!("{reference}:{status}");
        let applied = self
            .apply(&payment, &outcome, Some(("crypto", &event_id)))
            .await?;
        Ok((applied, Some(payment.id)))
    }
}

/// Checks a `Stripe-Signature` header (`t=…,v1=…[,v1=…]`) over the raw body: HMAC-SHA256 with the
/// endpoint secret over `"<t>.<body>"`, any `v1` matching in constant time, `t` within 300 s of `now`.
pub fn verify_stripe_signature(
    secret: &SecretString,
    header: &str,
    body: &[u8],
    now: i64,
) -> Result<(), Error> {
    use hmac::{KeyInit, Mac};
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", value)) => timestamp = value.parse::<i64>().ok(),
            Some(("v1", value)) => signatures.push(value.to_owned()),
            _ => {}
        }
    }
    let Some(timestamp) = timestamp else {
        return Err(Error::Signature("Stripe-Signature has no timestamp".to_owned()));
    };
    if (now - timestamp).abs() > STRIPE_TOLERANCE_SECS {
        return Err(Error::Signature(
            "the Stripe-Signature timestamp is outside the 300 s tolerance".to_owned(),
        ));
    }
    let matches = signatures.iter().any(|signature| {
        let Ok(given) = hex::decode(signature) else {
            return false;
        };
        let Ok(mut mac) = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.expose_secret().as_bytes())
        else {
            return false;
        };
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        mac.verify_slice(&given).is_ok()
    });
    if matches {
        Ok(())
    } else {
        Err(Error::Signature("no Stripe-Signature v1 matches".to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use hmac::{KeyInit, Mac};

    use super::*;

    fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(format!("{timestamp}.").as_bytes());
        mac.update(body);
        format!("t={timestamp},v1={}", hex::encode(mac.finalize().into_bytes()))
    }

    #[test]
    fn a_fresh_signature_passes_and_stale_or_foreign_ones_fail() {
        let secret = SecretString::from("whsec_test");
        let body = br#"{"id":"evt_1"}"#;
        assert!(verify_stripe_signature(&secret, &sign("whsec_test", 1000, body), body, 1100).is_ok());
        assert!(verify_stripe_signature(&secret, &sign("whsec_test", 1000, body), body, 1301).is_err());
        assert!(verify_stripe_signature(&secret, &sign("whsec_other", 1000, body), body, 1000).is_err());
        assert!(verify_stripe_signature(&secret, &sign("whsec_test", 1000, body), b"{}", 1000).is_err());
        let rolled = format!("{},v1=00ff", sign("whsec_test", 1000, body));
        assert!(verify_stripe_signature(&secret, &rolled, body, 1000).is_ok());
    }
}
