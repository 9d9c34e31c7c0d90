//! Reading the JSON fields of `POST /payment` and `POST /invoice`, with NOWPayments' error codes.

use serde_json::{Map, Value};

use crate::nowpayments::coins::{Coin, MIN_PRICE, coin_named, fiat_usd_rate};
use crate::nowpayments::errors::NowPaymentsError;

/// The price both endpoints require: a positive amount in a fiat currency, at least the minimum.
#[derive(Debug, Clone)]
pub(crate) struct Price {
    pub(crate) amount: f64,
    pub(crate) currency: String,
    /// US dollars per unit of `currency`.
    pub(crate) usd_rate: f64,
}

/// Returns the body as a JSON object, or `400 INVALID_REQUEST_PARAMS`.
pub(crate) fn object(body: &[u8]) -> Result<Map<String, Value>, NowPaymentsError> {
    match serde_json::from_slice(body) {
        Ok(Value::Object(fields)) => Ok(fields),
        _ => Err(NowPaymentsError::invalid_params(
            "request body must be a JSON object",
        )),
    }
}

/// Returns `price_amount` and `price_currency`, validated.
pub(crate) fn price(fields: &Map<String, Value>) -> Result<Price, NowPaymentsError> {
    let amount = fields
        .get("price_amount")
        .and_then(Value::as_f64)
        .filter(|amount| amount.is_finite() && *amount > 0.0)
        .ok_or_else(|| NowPaymentsError::invalid_params("\"price_amount\" must be a positive number"))?;
    let currency = string(fields, "price_currency")?
        .ok_or_else(|| NowPaymentsError::invalid_params("\"price_currency\" is required"))?
        .to_ascii_lowercase();
    let usd_rate = fiat_usd_rate(&currency).ok_or_else(|| {
        NowPaymentsError::bad_request(
            "CURRENCY_UNAVAILABLE",
            format!("Currency {currency} is unavailable"),
        )
    })?;
    if amount < MIN_PRICE {
        return Err(NowPaymentsError::bad_request(
            "AMOUNT_MINIMAL_ERROR",
            format!("amountTo is too small: the minimal price is {MIN_PRICE} {currency}"),
        ));
    }
    Ok(Price {
        amount,
        currency,
        usd_rate,
    })
}

/// Returns the coin `pay_currency` names, `None` when absent, or `400 CURRENCY_UNAVAILABLE`.
pub(crate) fn pay_currency(fields: &Map<String, Value>) -> Result<Option<Coin>, NowPaymentsError> {
    let Some(ticker) = string(fields, "pay_currency")? else {
        return Ok(None);
    };
    coin_named(ticker).map(Some).ok_or_else(|| {
        NowPaymentsError::bad_request(
            "CURRENCY_UNAVAILABLE",
            format!("Currency {ticker} is unavailable"),
        )
    })
}

/// Returns the optional string field `name`; any other JSON type is `INVALID_REQUEST_PARAMS`.
pub(crate) fn string<'a>(
    fields: &'a Map<String, Value>,
    name: &str,
) -> Result<Option<&'a str>, NowPaymentsError> {
    match fields.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(value)) => Ok(Some(value)),
        Some(_) => Err(NowPaymentsError::invalid_params(format!(
            "\"{name}\" must be a string"
        ))),
    }
}

/// Returns the optional boolean field `name`, `false` when absent.
pub(crate) fn flag(fields: &Map<String, Value>, name: &str) -> Result<bool, NowPaymentsError> {
    match fields.get(name) {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(value)) => Ok(*value),
        Some(_) => Err(NowPaymentsError::invalid_params(format!(
            "\"{name}\" must be a boolean"
        ))),
    }
}
