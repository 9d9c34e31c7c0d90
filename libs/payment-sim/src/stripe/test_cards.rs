//! What each magic test PaymentMethod id does when confirmed (spec A4, "Behaviour for the fake").

use axum::http::StatusCode;
use serde_json::json;

use crate::stripe::error_body::{ErrorType, StripeError};

/// How confirming a PaymentIntent with a given PaymentMethod turns out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CardBehaviour {
    /// `pm_card_visa`, `pm_card_mastercard`, `pm_card_amex` and any other `pm_…`.
    Succeeds,
    /// The issuer declines: `402 card_error` with these codes.
    Declines(Decline),
    /// `pm_card_authenticationRequired`: 3-D Secure on session, a decline off session.
    RequiresAuthentication,
}

/// The error fields of one kind of decline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Decline {
    pub(crate) code: &'static str,
    pub(crate) decline_code: &'static str,
    pub(crate) message: &'static str,
    pub(crate) param: Option<&'static str>,
}

/// The decline an off-session confirmation of `pm_card_authenticationRequired` gets.
pub(crate) const AUTHENTICATION_REQUIRED: Decline = Decline {
    code: "authentication_required",
    decline_code: "authentication_required",
    message: "Your card was declined. This transaction requires authentication.",
    param: None,
};

/// The decline a failed asynchronous settlement reports (`FakeStripe::complete(_, false)`).
pub(crate) const GENERIC_DECLINE: Decline = Decline {
    code: "card_declined",
    decline_code: "generic_decline",
    message: "Your card was declined.",
    param: None,
};

/// Returns what confirming with `payment_method` does.
pub(crate) fn behaviour(payment_method: &str) -> CardBehaviour {
    let decline = match payment_method {
        "pm_card_authenticationRequired" => return CardBehaviour::RequiresAuthentication,
        "pm_card_chargeDeclined" => GENERIC_DECLINE,
        "pm_card_chargeDeclinedInsufficientFunds" => Decline {
            code: "card_declined",
            decline_code: "insufficient_funds",
            message: "Your card has insufficient funds.",
            param: None,
        },
        "pm_card_chargeDeclinedExpiredCard" => Decline {
            code: "expired_card",
            decline_code: "expired_card",
            message: "Your card has expired.",
            param: Some("exp_month"),
        },
        "pm_card_chargeDeclinedIncorrectCvc" => Decline {
            code: "incorrect_cvc",
            decline_code: "incorrect_cvc",
            message: "Your card's security code is incorrect.",
            param: Some("cvc"),
        },
        "pm_card_chargeDeclinedProcessingError" => Decline {
            code: "processing_error",
            decline_code: "processing_error",
            message: "An error occurred while processing your card. Try again in a little bit.",
            param: None,
        },
        _ => return CardBehaviour::Succeeds,
    };
    CardBehaviour::Declines(decline)
}

impl Decline {
    /// Returns the `402 card_error` for this decline on `charge_id`, paid with `payment_method`.
    pub(crate) fn error(&self, charge_id: &str, payment_method: &str) -> StripeError {
        let error = StripeError::new(StatusCode::PAYMENT_REQUIRED, ErrorType::Card, self.message)
            .code(self.code)
            .field("decline_code", json!(self.decline_code))
            .field("charge", json!(charge_id))
            .field(
                "payment_method",
                json!({"id": payment_method, "object": "payment_method", "type": "card"}),
            );
        match self.param {
            Some(param) => error.param(param),
            None => error,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn magic_ids_map_to_their_documented_outcomes() {
        assert_eq!(behaviour("pm_card_visa"), CardBehaviour::Succeeds);
        assert_eq!(behaviour("pm_1PgcAnything"), CardBehaviour::Succeeds);
        assert_eq!(
            behaviour("pm_card_authenticationRequired"),
            CardBehaviour::RequiresAuthentication
        );
        let CardBehaviour::Declines(decline) = behaviour("pm_card_chargeDeclinedInsufficientFunds") else {
            panic!("insufficient funds declines");
        };
        assert_eq!(
            (decline.code, decline.decline_code),
            ("card_declined", "insufficient_funds")
        );
    }
}
