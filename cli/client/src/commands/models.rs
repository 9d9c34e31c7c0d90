//! `models upload|list|get|delete|predict`: the caller's models.

use comfy_table::Table;
use reqwest::Method;
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};

use crate::ApiClient;
use crate::args::ModelsCommand;
use crate::commands::{Render, fields, text};

/// Runs one `models` command.
pub async fn run(client: &ApiClient, command: ModelsCommand) -> anyhow::Result<(Value, Render)> {
    Ok(match command {
        ModelsCommand::Upload { file, name, format } => {
            let opened = tokio::fs::File::open(&file)
                .await
                .map_err(|error| anyhow::anyhow!("cannot read {}: {error}", file.display()))?;
            let length = opened.metadata().await?.len();
            let filename = file
                .file_name()
                .map(|name| name.to_string_lossy().into_owned())
                .unwrap_or_default();
            let mut form = Form::new().text("name", name).part(
                "model",
                Part::stream_with_length(opened, length).file_name(filename),
            );
            if let Some(format) = format {
                form = form.text("format", format);
            }
            (client.upload("/api/v1/models/upload", form).await?, model)
        }
        ModelsCommand::List => (
            client.call(Method::GET, "/api/v1/models", None).await?["data"].take(),
            model_table,
        ),
        ModelsCommand::Get { id } => (
            client
                .call(Method::GET, &format!("/api/v1/models/{id}"), None)
                .await?,
            model,
        ),
        ModelsCommand::Delete { id } => {
            client
                .call(Method::DELETE, &format!("/api/v1/models/{id}"), None)
                .await?;
            (json!({"model_id": id, "deleted": true}), fields)
        }
        ModelsCommand::Predict { id, input } => {
            let input: Value = serde_json::from_str(&input)
                .map_err(|error| anyhow::anyhow!("--input must be JSON (a list of numbers): {error}"))?;
            let body = json!({"input": input});
            (
                client
                    .call(Method::POST, &format!("/api/v1/models/{id}/predict"), Some(&body))
                    .await?,
                fields,
            )
        }
    })
}

fn model(value: &Value) -> String {
    let mut shown = value.clone();
    if let Some(object) = shown.as_object_mut() {
        for key in ["inputs", "outputs"] {
            if let Some(tensors) = object.get(key).and_then(Value::as_array) {
                let described: Vec<String> = tensors
                    .iter()
                    .map(|tensor| {
                        format!(
                            "{}: {} {}",
                            text(&tensor["name"]),
                            text(&tensor["datatype"]),
                            tensor["shape"]
                        )
                    })
                    .collect();
                object.insert(key.to_owned(), Value::from(described.join(", ")));
            }
        }
    }
    fields(&shown)
}

fn model_table(value: &Value) -> String {
    let mut table = Table::new();
    table.set_header(["ID", "NAME", "VERSION", "FORMAT", "STATUS", "BYTES", "CREATED"]);
    for model in value["models"].as_array().into_iter().flatten() {
        table.add_row(
            [
                "model_id",
                "name",
                "version",
                "format",
                "status",
                "size_bytes",
                "created_at",
            ]
            .map(|field| text(&model[field])),
        );
    }
    format!(
        "{table}\n{} of {} bytes used",
        text(&value["used_bytes"]),
        text(&value["quota_bytes"])
    )
}
