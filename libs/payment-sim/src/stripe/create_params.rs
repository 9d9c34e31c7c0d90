//! Validation of `POST /v1/payment_intents` parameters (spec A4 table), before anything executes.

use std::collections::BTreeMap;

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::stripe::error_body::{ErrorType, StripeError};
use crate::stripe::form::FormParams;

/// Stripe's minimum charge in the smallest unit ($0.50; the fake uses 50 for every currency).
const MIN_AMOUNT: i64 = 50;
/// Stripe's maximum: eight digits.
const MAX_AMOUNT: i64 = 99_999_999;

/// The top-level parameters the create endpoint knows; anything else is `parameter_unknown`.
const KNOWN_PARAMETERS: &[&str] = &[
    "amount",
    "application_fee_amount",
    "automatic_payment_methods",
    "capture_method",
    "confirm",
    "confirmation_method",
    "currency",
    "customer",
    "description",
    "error_on_requires_action",
    "expand",
    "mandate_data",
    "metadata",
    "off_session",
    "on_behalf_of",
    "payment_method",
    "payment_method_data",
    "payment_method_options",
    "payment_method_types",
    "receipt_email",
    "return_url",
    "setup_future_usage",
    "shipping",
    "statement_descriptor",
    "statement_descriptor_suffix",
    "transfer_data",
    "transfer_group",
    "use_stripe_sdk",
];

/// Keys that carry a raw card number: Stripe refuses them server-side (spec A4, Part C).
const RAW_CARD_KEYS: &[&str] = &[
    "payment_method_data[card][number]",
    "card[number]",
    "source[number]",
];

/// The refusal Stripe sends for raw card numbers.
const RAW_CARD_MESSAGE: &str = "Sending credit card numbers directly to the Stripe API is \
    generally unsafe. We suggest you use test tokens that map to the test card you are using, see \
    https://stripe.com/docs/testing. To enable testing raw card data APIs, see \
    https://support.stripe.com/questions/enabling-access-to-raw-card-data-apis.";

/// A create request that passed validation.
#[derive(Debug, Clone)]
pub(crate) struct CreateParams {
    pub(crate) amount: i64,
    pub(crate) currency: String,
    pub(crate) customer: Option<String>,
    pub(crate) payment_method: Option<String>,
    pub(crate) confirm: bool,
    pub(crate) off_session: bool,
    pub(crate) error_on_requires_action: bool,
    pub(crate) return_url: Option<String>,
    pub(crate) capture_method: String,
    /// Explicit `payment_method_types[]`, or `["card"]` under automatic payment methods.
    pub(crate) payment_method_types: Vec<String>,
    /// `{"enabled", "allow_redirects"}`, or `null` when `payment_method_types[]` was given.
    pub(crate) automatic_payment_methods: Value,
    pub(crate) description: Option<String>,
    pub(crate) receipt_email: Option<String>,
    pub(crate) setup_future_usage: Option<String>,
    pub(crate) statement_descriptor: Option<String>,
    pub(crate) statement_descriptor_suffix: Option<String>,
    pub(crate) metadata: BTreeMap<String, String>,
}

impl CreateParams {
    /// Returns the validated parameters, or the error Stripe answers before creating anything.
    pub(crate) fn parse(form: &FormParams) -> Result<Self, StripeError> {
        if RAW_CARD_KEYS.iter().any(|key| form.has_key(key)) {
            return Err(StripeError::new(
                StatusCode::PAYMENT_REQUIRED,
                ErrorType::InvalidRequest,
                RAW_CARD_MESSAGE,
            ));
        }
        if let Some(unknown) = form
            .top_level_names()
            .into_iter()
            .find(|name| !KNOWN_PARAMETERS.contains(name))
        {
            return Err(
                StripeError::invalid_request(format!("Received unknown parameter: {unknown}"))
                    .code("parameter_unknown")
                    .param(unknown),
            );
        }
        let amount = required(form, "amount")?;
        let amount: i64 = amount.parse().map_err(|_| {
            StripeError::invalid_request(format!("Invalid integer: {amount}"))
                .code("parameter_invalid_integer")
                .param("amount")
        })?;
        let currency = currency(required(form, "currency")?)?;
        check_amount(amount, &currency)?;
        let confirm = boolean(form, "confirm")?;
        let off_session = boolean(form, "off_session")?;
        if off_session && !confirm {
            return Err(StripeError::invalid_request(
                "You may only specify `off_session` when confirming a PaymentIntent. Please also \
                 set `confirm` to true.",
            )
            .param("off_session"));
        }
        let payment_method = payment_method(form)?;
        if confirm && payment_method.is_none() {
            return Err(StripeError::invalid_request(
                "You cannot confirm this PaymentIntent because it's missing a payment method. To \
                 confirm the PaymentIntent, pass a `payment_method`.",
            )
            .code("payment_intent_unexpected_state")
            .param("payment_method"));
        }
        let (payment_method_types, automatic_payment_methods) = payment_method_types(form)?;
        let return_url = form.scalar("return_url").map(str::to_owned);
        if confirm && return_url.is_none() && allows_redirects(&automatic_payment_methods) {
            return Err(StripeError::invalid_request(
                "This PaymentIntent is configured to accept payment methods enabled in your \
                 Dashboard. Because some of these payment methods might redirect your customer \
                 off of your page, you must provide a `return_url`. If you don't want to accept \
                 redirect-based payment methods, set `automatic_payment_methods[enabled]` to \
                 `true` and `automatic_payment_methods[allow_redirects]` to `never` when \
                 creating Setup Intents and Payment Intents.",
            ));
        }
        Ok(Self {
            amount,
            currency,
            customer: form.scalar("customer").map(str::to_owned),
            payment_method,
            confirm,
            off_session,
            error_on_requires_action: boolean(form, "error_on_requires_action")?,
            return_url,
            capture_method: capture_method(form)?,
            payment_method_types,
            automatic_payment_methods,
            description: form.scalar("description").map(str::to_owned),
            receipt_email: form.scalar("receipt_email").map(str::to_owned),
            setup_future_usage: form.scalar("setup_future_usage").map(str::to_owned),
            statement_descriptor: form.scalar("statement_descriptor").map(str::to_owned),
            statement_descriptor_suffix: form.scalar("statement_descriptor_suffix").map(str::to_owned),
            metadata: form.hash("metadata"),
        })
    }
}

fn required<'a>(form: &'a FormParams, name: &str) -> Result<&'a str, StripeError> {
    form.scalar(name)
        .filter(|value| !value.is_empty())
        .ok_or_else(|| {
            StripeError::invalid_request(format!("Missing required param: {name}."))
                .code("parameter_missing")
                .param(name)
        })
}

fn currency(raw: &str) -> Result<String, StripeError> {
    let currency = raw.to_ascii_lowercase();
    if currency.len() == 3 && currency.chars().all(|c| c.is_ascii_lowercase()) {
        return Ok(currency);
    }
    Err(StripeError::invalid_request(format!("Invalid currency: {raw}.")).param("currency"))
}

fn check_amount(amount: i64, currency: &str) -> Result<(), StripeError> {
    if amount < MIN_AMOUNT {
        return Err(
            StripeError::invalid_request(format!("Amount must be at least $0.50 {currency}"))
                .code("amount_too_small")
                .param("amount"),
        );
    }
    if amount > MAX_AMOUNT {
        return Err(StripeError::invalid_request(format!(
            "Amount must be no more than $999,999.99 {currency}"
        ))
        .code("amount_too_large")
        .param("amount"));
    }
    Ok(())
}

fn boolean(form: &FormParams, name: &str) -> Result<bool, StripeError> {
    match form.scalar(name) {
        None | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(other) => Err(StripeError::invalid_request(format!("Invalid boolean: {other}")).param(name)),
    }
}

/// Accepts PaymentMethod ids (`pm_…`, and the legacy `card_…`/`src_…`); anything else is no
/// PaymentMethod Stripe knows.
fn payment_method(form: &FormParams) -> Result<Option<String>, StripeError> {
    let Some(id) = form.scalar("payment_method") else {
        return Ok(None);
    };
    if ["pm_", "card_", "src_"]
        .iter()
        .any(|prefix| id.len() > prefix.len() && id.starts_with(prefix))
    {
        return Ok(Some(id.to_owned()));
    }
    Err(
        StripeError::invalid_request(format!("No such PaymentMethod: '{id}'"))
            .code("resource_missing")
            .param("payment_method"),
    )
}

fn payment_method_types(form: &FormParams) -> Result<(Vec<String>, Value), StripeError> {
    let explicit = form.list("payment_method_types");
    let automatic = form.has("automatic_payment_methods");
    if !explicit.is_empty() && automatic {
        return Err(StripeError::invalid_request(
            "You may only specify one of these parameters: automatic_payment_methods, \
             payment_method_types.",
        )
        .code("parameters_exclusive")
        .param("automatic_payment_methods"));
    }
    if !explicit.is_empty() {
        return Ok((explicit, Value::Null));
    }
    let enabled = boolean(form, "automatic_payment_methods[enabled]")? || !automatic;
    let allow_redirects = match form.scalar("automatic_payment_methods[allow_redirects]") {
        None | Some("always") => "always",
        Some("never") => "never",
        Some(other) => {
            return Err(StripeError::invalid_request(format!(
                "Invalid automatic_payment_methods[allow_redirects]: must be one of always or \
                 never, got {other}"
            ))
            .param("automatic_payment_methods[allow_redirects]"));
        }
    };
    let settings = json!({"enabled": enabled, "allow_redirects": allow_redirects});
    Ok((vec!["card".to_owned()], settings))
}

/// Returns whether confirming needs a `return_url`: automatic payment methods that may redirect.
fn allows_redirects(automatic_payment_methods: &Value) -> bool {
    automatic_payment_methods.get("enabled") == Some(&Value::Bool(true))
        && automatic_payment_methods.get("allow_redirects") == Some(&json!("always"))
}

fn capture_method(form: &FormParams) -> Result<String, StripeError> {
    match form.scalar("capture_method") {
        None => Ok("automatic".to_owned()),
        Some(method @ ("automatic" | "automatic_async" | "manual")) => Ok(method.to_owned()),
        Some(other) => Err(StripeError::invalid_request(format!(
            "Invalid capture_method: must be one of automatic, automatic_async, or manual, got \
             {other}"
        ))
        .param("capture_method")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(body: &str) -> Result<CreateParams, StripeError> {
        CreateParams::parse(&FormParams::parse(body.as_bytes()).unwrap())
    }

    fn code_of(error: &StripeError) -> Value {
        error.body()["error"]["code"].clone()
    }

    #[test]
    fn the_spec_example_is_valid() {
        let params = parse(
            "amount=2000&currency=usd&customer=cus_QXg1o8vcGmoR32&payment_method=pm_card_visa\
             &confirm=true&off_session=true&payment_method_types[]=card&metadata[user_id]=42",
        )
        .unwrap();
        assert_eq!(params.amount, 2000);
        assert!(params.confirm && params.off_session);
        assert_eq!(params.payment_method_types, vec!["card"]);
        assert_eq!(params.automatic_payment_methods, Value::Null);
        assert_eq!(params.metadata.get("user_id").map(String::as_str), Some("42"));
    }

    #[test]
    fn missing_and_malformed_amounts_are_refused_with_their_codes() {
        let missing = parse("currency=usd").unwrap_err();
        assert_eq!(code_of(&missing), "parameter_missing");
        assert_eq!(missing.body()["error"]["param"], "amount");
        assert_eq!(
            code_of(&parse("amount=12.5&currency=usd").unwrap_err()),
            "parameter_invalid_integer"
        );
        assert_eq!(
            code_of(&parse("amount=49&currency=usd").unwrap_err()),
            "amount_too_small"
        );
        assert_eq!(
            code_of(&parse("amount=100000000&currency=usd").unwrap_err()),
            "amount_too_large"
        );
        assert_eq!(code_of(&parse("amount=50").unwrap_err()), "parameter_missing");
    }

    #[test]
    fn confirming_with_automatic_methods_that_may_redirect_needs_a_return_url() {
        let body = "amount=500&currency=usd&payment_method=pm_card_visa&confirm=true";
        assert!(parse(body).is_err());
        assert!(parse(&format!("{body}&return_url=https://example.test/done")).is_ok());
        assert!(
            parse(&format!(
                "{body}&automatic_payment_methods[enabled]=true\
                 &automatic_payment_methods[allow_redirects]=never"
            ))
            .is_ok()
        );
    }

    #[test]
    fn unknown_parameters_and_raw_card_numbers_are_refused() {
        let unknown = parse("amount=500&currency=usd&colour=red").unwrap_err();
        assert_eq!(code_of(&unknown), "parameter_unknown");
        let raw = parse("amount=500&currency=usd&card[number]=4242424242424242").unwrap_err();
        assert_eq!(raw.status, StatusCode::PAYMENT_REQUIRED);
        assert_eq!(raw.body()["error"]["type"], "invalid_request_error");
    }
}
