//! `lb-strategy` and `load`.

use comfy_table::Table;
use reqwest::Method;
use serde_json::Value;

use crate::{
    ApiClient,
    args::{LoadArgs, STRATEGY_PATH, StrategyArgs},
    commands::{Render, text},
};

/// Shows or sets the strategy, as `lb-strategy` asks.
pub async fn strategy(client: &ApiClient, strategy: &StrategyArgs) -> anyhow::Result<(Value, Render)> {
    let (method, body) = strategy.request();
    let mut answer = client.call(method, STRATEGY_PATH, body.as_ref()).await?;
    Ok((answer["data"].take(), strategy_line))
}

/// Returns the loads `load` asks for.
pub async fn load(client: &ApiClient, load: &LoadArgs) -> anyhow::Result<(Value, Render)> {
    let mut answer = client.call(Method::GET, &load.path(), None).await?;
    Ok((answer["data"].take(), load_tables))
}

fn strategy_line(answer: &Value) -> String {
    format!("load-balancing strategy: {}", text(&answer["strategy"]))
}

/// Renders the strategy and whichever of the two tables the server sent (a `type` leaves one out).
fn load_tables(answer: &Value) -> String {
    let mut sections = vec![strategy_line(answer)];
    if let Some(servers) = answer["server_load"].as_array() {
        let mut table = Table::new();
        table.set_header([
            "INSTANCE",
            "PROVIDER",
            "ACTIVE",
            "TOTAL",
            "AVG MS",
            "LAST MS",
            "WEIGHT",
            "LAST USED",
            "HEALTHY",
            "SCORE",
        ]);
        for server in servers {
            table.add_row([
                text(&server["instance_id"]),
                text(&server["provider"]),
                text(&server["active_connections"]),
                text(&server["total_connections"]),
                decimal(&server["avg_response_time_ms"]),
                decimal(&server["last_response_time_ms"]),
                text(&server["weight"]),
                text(&server["last_used"]),
                text(&server["healthy"]),
                decimal(&server["load_score"]),
            ]);
        }
        sections.push(format!("servers\n{table}"));
    }
    if let Some(providers) = answer["provider_load"].as_array() {
        let mut table = Table::new();
        table.set_header(["PROVIDER", "CONNECTIONS", "AVG MS", "SCORE"]);
        for provider in providers {
            table.add_row([
                text(&provider["provider"]),
                text(&provider["connections"]),
                decimal(&provider["avg_response_time_ms"]),
                decimal(&provider["load_score"]),
            ]);
        }
        sections.push(format!("providers\n{table}"));
    }
    sections.join("\n")
}

/// Renders a measurement with two decimals, since float noise in milliseconds is not information.
fn decimal(value: &Value) -> String {
    value
        .as_f64()
        .map_or_else(|| text(value), |number| format!("{number:.2}"))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_load_shows_the_strategy_and_both_tables() {
        let answer = json!({
            "strategy": "least_connections",
            "server_load": [{
                "instance_id": "i-1",
                "provider": "vast.ai",
                "active_connections": 2,
                "total_connections": 10,
                "avg_response_time_ms": 12.345,
                "last_response_time_ms": 10.0,
                "weight": 1,
                "last_used": null,
                "healthy": true,
                "load_score": 0.5,
            }],
            "provider_load": [{
                "provider": "vast.ai",
                "connections": 2,
                "avg_response_time_ms": 12.345,
                "load_score": 0.5,
            }],
        });
        let output = load_tables(&answer);
        assert!(output.starts_with("load-balancing strategy: least_connections"));
        for expected in ["servers", "providers", "i-1", "12.35", "true", "CONNECTIONS"] {
            assert!(output.contains(expected), "{expected} in {output}");
        }
    }

    #[test]
    fn the_load_of_one_kind_leaves_out_the_other_table() {
        let answer = json!({"strategy": "round_robin", "provider_load": []});
        let output = load_tables(&answer);
        assert!(
            output.contains("providers") && !output.contains("servers"),
            "{output}"
        );
    }
}
