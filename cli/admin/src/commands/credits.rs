//! The `credits` and `usage` commands: the billing service keeps the ledger, so these go through
//! the gateway's admin routes with an admin's API key, like the `guardrails-*` commands.

use comfy_table::Table;
use gpuproxy_client::ApiClient;
use reqwest::Method;
use serde_json::{Value, json};

use super::guardrails::{data, encode, text};
use crate::Command;

/// Runs `credits` or `usage` against the gateway at `url`; returns what to print.
pub async fn run(
    command: Command,
    url: &str,
    api_key: Option<String>,
    as_json: bool,
) -> anyhow::Result<String> {
    let Some(api_key) = api_key else {
        anyhow::bail!(
            "the credits and usage commands need an admin's API key: --api-key or GPUPROXY_API_KEY"
        );
    };
    let client = ApiClient::new(url, Some(api_key), None, false, false);
    let (answer, human): (Value, fn(&Value) -> String) = match command {
        Command::Credits {
            email,
            add,
            reason,
            idempotency_key,
        } => {
            if let Some(amount) = add {
                let body = json!({"email": email, "amount": amount, "reason": reason});
                let key = idempotency_key.unwrap_or_default();
                let headers: Vec<(&str, &str)> = if key.is_empty() {
                    Vec::new()
                } else {
                    vec![("Idempotency-Key", key.as_str())]
                };
                client
                    .call_with_headers(Method::POST, "/api/v1/admin/credits/add", Some(&body), &headers)
                    .await?;
            }
            let path = format!("/api/v1/admin/credits?email={}", encode(&email));
            let mut credits = data(client.call(Method::GET, &path, None).await?);
            credits["email"] = json!(email);
            (credits, credits_table)
        }
        Command::Usage { email, limit, offset } => {
            let path = format!(
                "/api/v1/admin/usage?email={}&limit={limit}&offset={offset}",
                encode(&email)
            );
            let mut usage = data(client.call(Method::GET, &path, None).await?);
            usage["email"] = json!(email);
            (usage, usage_table)
        }
        _ => anyhow::bail!("not a credits command"),
    };
    Ok(if as_json {
        answer.to_string()
    } else {
        human(&answer)
    })
}

fn dollars(value: &Value) -> String {
    value
        .as_f64()
        .map_or_else(|| "-".to_owned(), |amount| format!("{amount:.2}"))
}

fn credits_table(credits: &Value) -> String {
    let mut table = Table::new();
    table.set_header(["REMAINING", "TOTAL", "OVERAGE", "CAP", "BALANCE", "AUTO-RENEW"]);
    table.add_row([
        dollars(&credits["credits_remaining"]),
        dollars(&credits["credits_total"]),
        dollars(&credits["credits_overage"]),
        dollars(&credits["credits_cap"]),
        dollars(&credits["balance"]),
        if credits["credits_auto_renew"] == true {
            "on"
        } else {
            "off"
        }
        .to_owned(),
    ]);
    format!("{} (USD)\n{table}", text(&credits["email"]))
}

fn usage_table(usage: &Value) -> String {
    let mut table = Table::new();
    table.set_header([
        "STARTED",
        "KIND",
        "INSTANCE",
        "CLIENT",
        "ADDRESS",
        "MINUTES",
        "COST (USD)",
    ]);
    for record in usage["usage"].as_array().into_iter().flatten() {
        let minutes = record["duration_ms"].as_f64().unwrap_or(0.0) / 60_000.0;
        table.add_row([
            text(&record["started_at"]),
            text(&record["kind"]),
            text(&record["instance_id"]),
            text(&record["client_id"]),
            text(&record["client_ip"]),
            format!("{minutes:.1}"),
            format!("{:.6}", record["cost"].as_f64().unwrap_or(0.0)),
        ]);
    }
    format!(
        "{}: {} records, ${} in all\n{table}",
        text(&usage["email"]),
        usage["total_count"],
        dollars(&usage["total_cost"])
    )
}
