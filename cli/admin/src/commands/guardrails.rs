//! The `guardrails-*` commands. Spending lives in the guard rails service (Redis, or the server's
//! own memory when embedded), out of the database's reach, so these go through the gateway's admin
//! routes with an admin's API key, the way `aiserve-gpuproxy-client` talks to it.

use std::collections::BTreeMap;

use comfy_table::Table;
use gpuproxy_client::ApiClient;
use reqwest::Method;
use serde_json::{Value, json};

use crate::Command;

/// Runs a `guardrails-*` command against the gateway at `url`; returns what to print.
pub async fn run(
    command: Command,
    url: &str,
    api_key: Option<String>,
    as_json: bool,
) -> anyhow::Result<String> {
    let Some(api_key) = api_key else {
        anyhow::bail!("the guardrails-* commands need an admin's API key: --api-key or GPUPROXY_API_KEY");
    };
    let client = ApiClient::new(url, Some(api_key), None, false, false);
    let (answer, human): (Value, fn(&Value) -> String) = match command {
        Command::GuardrailsStatus => (
            data(
                client
                    .call(Method::GET, "/api/v1/admin/guardrails/status", None)
                    .await?,
            ),
            status_table,
        ),
        Command::GuardrailsSpending { email } => {
            let path = format!("/api/v1/admin/guardrails/spending?email={}", encode(&email));
            (data(client.call(Method::GET, &path, None).await?), spending_table)
        }
        Command::GuardrailsReset { email, window } => {
            let body = json!({"email": email, "window": window});
            let reset = data(
                client
                    .call(Method::POST, "/api/v1/guardrails/spending/reset", Some(&body))
                    .await?,
            );
            (
                json!({"email": email, "window": window, "spending": reset}),
                reset_table,
            )
        }
        Command::GuardrailsLimits {
            email,
            set,
            clear,
            window,
        } => {
            let path = format!("/api/v1/admin/guardrails/limits?email={}", encode(&email));
            let answer = if clear {
                let only = if window.is_empty() {
                    String::new()
                } else {
                    format!("&window={}", encode(&window.join(",")))
                };
                client
                    .call(Method::DELETE, &format!("{path}{only}"), None)
                    .await?
            } else if set.is_empty() {
                client.call(Method::GET, &path, None).await?
            } else {
                let body = json!({"email": email, "limits": parse_limits(&set)?});
                client
                    .call(Method::PUT, "/api/v1/admin/guardrails/limits", Some(&body))
                    .await?
            };
            (data(answer), limits_table)
        }
        _ => anyhow::bail!("not a guardrails command"),
    };
    Ok(if as_json {
        answer.to_string()
    } else {
        human(&answer)
    })
}

/// Parses `--set 60min=50` options into `{"60min": 50.0}`; the server judges the window names.
fn parse_limits(pairs: &[String]) -> anyhow::Result<BTreeMap<String, f64>> {
    pairs
        .iter()
        .map(|pair| {
            let (window, usd) = pair
                .split_once('=')
                .ok_or_else(|| anyhow::anyhow!("--set {pair}: expected WINDOW=USD, such as 60min=50"))?;
            let usd: f64 = usd
                .trim()
                .parse()
                .map_err(|_| anyhow::anyhow!("--set {pair}: {usd:?} is not an amount of USD"))?;
            Ok((window.trim().to_owned(), usd))
        })
        .collect()
}

pub(super) fn data(mut answer: Value) -> Value {
    answer["data"].take()
}

/// Percent-encodes a query value (an email's `+` would otherwise arrive as a space).
pub(super) fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'@' | b',' => {
                char::from(byte).to_string()
            }
            _ => format!("%{byte:02X}"),
        })
        .collect()
}

fn usd(value: &Value) -> String {
    match value.as_f64() {
        Some(amount) if amount > 0.0 => format!("{amount:.2}"),
        Some(_) => "0.00".to_owned(),
        None => "-".to_owned(),
    }
}

fn limit(value: &Value) -> String {
    match value.as_f64() {
        Some(amount) if amount > 0.0 => format!("{amount:.2}"),
        _ => "none".to_owned(),
    }
}

fn status_table(status: &Value) -> String {
    let mut table = Table::new();
    table.set_header(["WINDOW", "LIMIT (USD)"]);
    for window in status["limits"].as_array().into_iter().flatten() {
        table.add_row([text(&window["window"]), limit(&window["limit"])]);
    }
    let enabled = if status["enabled"] == true { "on" } else { "off" };
    format!(
        "guard rails {enabled}, mode {}; admin changes reach every replica within {} s\n{table}",
        text(&status["mode"]),
        status["limits_cache_ttl_seconds"]
    )
}

fn spending_table(spending: &Value) -> String {
    let mut table = Table::new();
    table.set_header(["WINDOW", "SPENT", "LIMIT", "REMAINING", "EXCEEDED"]);
    for window in spending["windows"].as_array().into_iter().flatten() {
        let exceeded = if window["exceeded"] == true { "yes" } else { "" };
        let remaining = if window["limit"].as_f64().unwrap_or(0.0) > 0.0 {
            usd(&window["remaining"])
        } else {
            "-".to_owned()
        };
        table.add_row([
            text(&window["window"]),
            usd(&window["spent"]),
            limit(&window["limit"]),
            remaining,
            exceeded.to_owned(),
        ]);
    }
    format!(
        "{}: ${} in the last 24 hours\n{table}",
        text(&spending["email"]),
        usd(&spending["total_spent_24h"])
    )
}

fn reset_table(reset: &Value) -> String {
    let what = match reset["window"].as_str() {
        Some(window) => format!("the {window} window"),
        None => "every window".to_owned(),
    };
    let mut spending = reset["spending"].clone();
    spending["email"] = reset["email"].clone();
    format!("reset {what}\n{}", spending_table(&spending))
}

fn limits_table(limits: &Value) -> String {
    let mut table = Table::new();
    table.set_header(["WINDOW", "LIMIT (USD)", "GLOBAL", "SET BY ADMIN"]);
    for window in limits["windows"].as_array().into_iter().flatten() {
        let overridden = if window["overridden"] == true { "yes" } else { "" };
        table.add_row([
            text(&window["window"]),
            limit(&window["limit"]),
            limit(&window["global_limit"]),
            overridden.to_owned(),
        ]);
    }
    format!("{}\n{table}", text(&limits["email"]))
}

pub(super) fn text(value: &Value) -> String {
    value.as_str().map_or_else(|| value.to_string(), str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_options_become_a_limits_object() {
        let limits = parse_limits(&["60min=50".to_owned(), "72h = 500.5".to_owned()]).expect("valid");
        assert_eq!(json!(limits), json!({"60min": 50.0, "72h": 500.5}));
        assert!(parse_limits(&["60min".to_owned()]).is_err());
        assert!(parse_limits(&["60min=lots".to_owned()]).is_err());
    }

    #[test]
    fn query_values_are_percent_encoded() {
        assert_eq!(encode("a+b@example.com"), "a%2Bb@example.com");
        assert_eq!(encode("60min,72h"), "60min,72h");
    }
}
