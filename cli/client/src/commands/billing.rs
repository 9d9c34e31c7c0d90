//! `credits`, `usage` and `transactions`: the caller's side of the billing service.

use comfy_table::Table;
use reqwest::Method;
use serde_json::Value;

use crate::ApiClient;
use crate::commands::{Render, fields, text};

/// Returns the caller's credits.
pub async fn credits(client: &ApiClient) -> anyhow::Result<(Value, Render)> {
    let mut answer = client.call(Method::GET, "/api/v1/user/credits", None).await?;
    Ok((answer["data"].take(), fields))
}

/// Turns the caller's auto-renewal on or off; returns their credits after it.
pub async fn auto_renew(
    client: &ApiClient,
    enabled: bool,
    amount: Option<f64>,
) -> anyhow::Result<(Value, Render)> {
    let mut body = serde_json::json!({ "enabled": enabled });
    if let Some(amount) = amount {
        body["amount"] = amount.into();
    }
    let mut answer = client
        .call(Method::PUT, "/api/v1/user/credits/auto-renew", Some(&body))
        .await?;
    Ok((answer["data"].take(), fields))
}

/// Returns a page of the caller's usage records.
pub async fn usage(client: &ApiClient, limit: i32, offset: i32) -> anyhow::Result<(Value, Render)> {
    let path = format!("/api/v1/user/usage?limit={limit}&offset={offset}");
    let mut answer = client.call(Method::GET, &path, None).await?;
    Ok((answer["data"].take(), usage_table))
}

/// Returns a page of the caller's payments.
pub async fn transactions(client: &ApiClient, limit: i32, offset: i32) -> anyhow::Result<(Value, Render)> {
    let path = format!("/api/v1/billing/transactions?limit={limit}&offset={offset}");
    let mut answer = client.call(Method::GET, &path, None).await?;
    Ok((answer["data"].take(), transactions_table))
}

fn usd(value: &Value) -> String {
    value
        .as_f64()
        .map_or_else(|| "-".to_owned(), |amount| format!("{amount:.6}"))
}

fn usage_table(usage: &Value) -> String {
    let mut table = Table::new();
    table.set_header(["STARTED", "KIND", "INSTANCE", "CLIENT", "MINUTES", "COST (USD)"]);
    for record in usage["usage"].as_array().into_iter().flatten() {
        let minutes = record["duration_ms"].as_f64().unwrap_or(0.0) / 60_000.0;
        table.add_row([
            text(&record["started_at"]),
            text(&record["kind"]),
            text(&record["instance_id"]),
            text(&record["client_id"]),
            format!("{minutes:.1}"),
            usd(&record["cost"]),
        ]);
    }
    format!(
        "{} records, ${} in all\n{table}",
        usage["total_count"],
        usd(&usage["total_cost"])
    )
}

fn transactions_table(transactions: &Value) -> String {
    let mut table = Table::new();
    table.set_header([
        "WHEN",
        "ID",
        "PROVIDER",
        "AMOUNT",
        "CURRENCY",
        "STATUS",
        "DESCRIPTION",
    ]);
    for transaction in transactions.as_array().into_iter().flatten() {
        table.add_row([
            text(&transaction["timestamp"]),
            text(&transaction["id"]),
            text(&transaction["provider"]),
            format!("{:.2}", transaction["amount"].as_f64().unwrap_or(0.0)),
            text(&transaction["currency"]),
            text(&transaction["status"]),
            text(&transaction["description"]),
        ]);
    }
    table.to_string()
}
