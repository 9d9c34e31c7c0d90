//! `agent discover`: the protocols agents may speak to the server and the actions they may take.

use comfy_table::Table;
use reqwest::Method;
use serde_json::Value;

use crate::ApiClient;
use crate::commands::{Render, text};

/// Returns the server's agent discovery document (it needs no credentials).
pub async fn discover(client: &ApiClient) -> anyhow::Result<(Value, Render)> {
    Ok((
        client.call(Method::GET, "/agent/discover", None).await?,
        discovery,
    ))
}

fn discovery(value: &Value) -> String {
    let mut protocols = Table::new();
    protocols.set_header(["PROTOCOL", "ENDPOINT"]);
    for protocol in value["protocols"].as_array().into_iter().flatten() {
        protocols.add_row([text(&protocol["name"]), text(&protocol["endpoint"])]);
    }
    let mut actions = Table::new();
    actions.set_header(["ACTION", "ALIASES", "EFFECT", "DESCRIPTION"]);
    for action in value["actions"].as_array().into_iter().flatten() {
        let aliases: Vec<String> = action["aliases"]
            .as_array()
            .into_iter()
            .flatten()
            .map(text)
            .collect();
        let effect = if action["read_only"] == true {
            "reads"
        } else if action["destructive"] == true {
            "destroys"
        } else if action["spends_money"] == true {
            "spends"
        } else {
            "changes"
        };
        actions.add_row([
            text(&action["name"]),
            aliases.join(", "),
            effect.to_owned(),
            text(&action["description"]),
        ]);
    }
    format!("{protocols}\n{actions}")
}
