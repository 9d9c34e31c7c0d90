//! `create`, `destroy` and `instances`.

use comfy_table::Table;
use reqwest::Method;
use serde_json::Value;

use crate::{
    ApiClient,
    args::{CreateArgs, DestroyArgs},
    commands::{Render, fields, price, text},
};

/// The REST path of the caller's rented instances.
pub const MY_INSTANCES_PATH: &str = "/api/v1/gpu/instances/mine";

/// Rents the offer `create` names and returns the instance.
pub async fn create(client: &ApiClient, create: &CreateArgs) -> anyhow::Result<(Value, Render)> {
    let mut answer = client
        .call_with_headers(
            Method::POST,
            &create.path(),
            Some(&create.body()),
            &create.headers(),
        )
        .await?;
    Ok((answer["data"].take(), fields))
}

/// Terminates the instance `destroy` names.
pub async fn destroy(client: &ApiClient, destroy: &DestroyArgs) -> anyhow::Result<(Value, Render)> {
    let mut answer = client.call(Method::DELETE, &destroy.path(), None).await?;
    Ok((answer["data"].take(), fields))
}

/// Returns the caller's rented instances.
pub async fn list(client: &ApiClient) -> anyhow::Result<(Value, Render)> {
    let mut answer = client.call(Method::GET, MY_INSTANCES_PATH, None).await?;
    Ok((answer["data"].take(), instance_table))
}

fn instance_table(instances: &Value) -> String {
    let mut table = Table::new();
    table.set_header(["ID", "PROVIDER", "GPU", "STATUS", "USD/HOUR", "ENDPOINT"]);
    for instance in instances.as_array().into_iter().flatten() {
        table.add_row([
            text(&instance["instance_id"]),
            text(&instance["provider"]),
            text(&instance["gpu_model"]),
            text(&instance["status"]),
            price(&instance["price_per_hour"]),
            text(&instance["endpoint"]),
        ]);
    }
    table.to_string()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_instance_table_shows_each_instance_with_its_price_and_endpoint() {
        let instances = json!([{
            "instance_id": "i-1",
            "provider": "vast.ai",
            "gpu_model": "RTX 4090",
            "status": "running",
            "price_per_hour": 0.4,
            "endpoint": null,
        }]);
        let table = instance_table(&instances);
        for expected in ["i-1", "vast.ai", "RTX 4090", "running", "0.4000", "ENDPOINT"] {
            assert!(table.contains(expected), "{expected} in {table}");
        }
    }
}
