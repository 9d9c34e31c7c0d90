//! Running commands and rendering answers.
//!
//! The account, key, offer and health commands live here; `instance.rs` (`create`, `destroy`,
//! `instances`), `reservation.rs` (`reserve`), `load_balancer.rs` (`lb-strategy`, `load`) and
//! `proxy.rs`, `billing.rs` (`credits`, `usage`, `transactions`) and `models.rs` (`models …`)
//! hold the others. Each returns the answer and how to render it for a human.

mod agents;
mod billing;
mod instance;
mod load_balancer;
mod models;
mod proxy;
mod reservation;

use comfy_table::Table;
use reqwest::Method;
use serde_json::{Value, json};

use crate::{ApiClient, ApiKeyCommand, Args, Command};

/// Renders an answer as tables for a human; `--json` prints the answer instead.
type Render = fn(&Value) -> String;

/// Runs the command in `args`; returns what to print.
pub async fn run(args: Args) -> anyhow::Result<String> {
    let credentials = crate::mcp_bridge::Credentials::of(args.key.clone(), args.token.clone());
    let client = ApiClient::new(
        &args.server,
        args.key,
        args.token,
        args.developer_mode,
        args.debug_mode,
    );
    let (answer, human): (Value, Render) = match args.command {
        Command::Register {
            email,
            password,
            name,
        } => {
            let body = json!({"email": email, "password": password, "name": name});
            (
                client
                    .call(Method::POST, "/api/v1/auth/register", Some(&body))
                    .await?["data"]
                    .take(),
                fields,
            )
        }
        Command::Login { email, password } => {
            let body = json!({"email": email, "password": password});
            (
                client
                    .call(Method::POST, "/api/v1/auth/login", Some(&body))
                    .await?["data"]
                    .take(),
                login,
            )
        }
        Command::Logout => (
            client
                .call(Method::POST, "/api/v1/auth/logout", Some(&json!({})))
                .await?["data"]
                .take(),
            fields,
        ),
        Command::Whoami => (
            client.call(Method::GET, "/api/v1/auth/me", None).await?["data"].take(),
            fields,
        ),
        Command::Apikey {
            command:
                ApiKeyCommand::Create {
                    name,
                    expires_in_days,
                },
        } => {
            let body = json!({"name": name, "expires_in_days": expires_in_days});
            (
                client
                    .call(Method::POST, "/api/v1/auth/apikey", Some(&body))
                    .await?["data"]
                    .take(),
                created_key,
            )
        }
        Command::Apikey {
            command: ApiKeyCommand::List,
        } => (
            client.call(Method::GET, "/api/v1/auth/apikey", None).await?["data"].take(),
            key_table,
        ),
        Command::Apikey {
            command: ApiKeyCommand::Revoke { id },
        } => (
            client
                .call(Method::DELETE, &format!("/api/v1/auth/apikey/{id}"), None)
                .await?["data"]
                .take(),
            fields,
        ),
        Command::List(list) => (client.call(Method::GET, &list.path(), None).await?, offer_table),
        Command::Health => (client.call(Method::GET, "/health", None).await?, health),
        Command::Agent {
            command: crate::AgentCommand::Discover,
        } => agents::discover(&client).await?,
        Command::Models { command } => models::run(&client, command).await?,
        Command::Mcp => {
            let credentials = credentials.ok_or_else(|| {
                anyhow::anyhow!("mcp needs -key (GPUPROXY_API_KEY) or --token (GPUPROXY_TOKEN)")
            })?;
            crate::mcp_bridge::serve(&args.server, credentials).await?;
            return Ok(String::new());
        }
        Command::Create(create) => instance::create(&client, &create).await?,
        Command::Destroy(destroy) => instance::destroy(&client, &destroy).await?,
        Command::Instances => instance::list(&client).await?,
        Command::Reserve(reserve) => {
            // Reserving draws progress between calls, so it renders its own answer.
            return reservation::reserve(&client, &reserve, args.json).await;
        }
        Command::LbStrategy(strategy) => load_balancer::strategy(&client, &strategy).await?,
        Command::Load(load) => load_balancer::load(&client, &load).await?,
        Command::Proxy(proxy) => proxy::send(&client, &proxy).await?,
        Command::Credits => billing::credits(&client).await?,
        Command::AutoRenew { state, amount } => billing::auto_renew(&client, state == "on", amount).await?,
        Command::Usage { limit, offset } => billing::usage(&client, limit, offset).await?,
        Command::Transactions { limit, offset } => billing::transactions(&client, limit, offset).await?,
    };
    let output = if args.json {
        answer.to_string()
    } else {
        human(&answer)
    };
    // `health` doubles as a container health check: a fleet that is down must fail it.
    if answer["status"] == "down" {
        anyhow::bail!("the server reports that it is down\n{output}");
    }
    Ok(output)
}

fn text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Null => "-".to_owned(),
        other => other.to_string(),
    }
}

/// Renders USD with four decimals, enough for the cheapest per-hour prices.
fn price(value: &Value) -> String {
    value
        .as_f64()
        .map_or_else(|| "-".to_owned(), |price| format!("{price:.4}"))
}

fn fields(value: &Value) -> String {
    let mut table = Table::new();
    if let Some(map) = value.as_object() {
        for (name, value) in map {
            table.add_row([name.clone(), text(value)]);
        }
    }
    table.to_string()
}

fn login(value: &Value) -> String {
    format!(
        "{}\nLogged in as {}. Use the token with:\n  export GPUPROXY_TOKEN={}",
        fields(value),
        text(&value["email"]),
        text(&value["token"])
    )
}

fn created_key(value: &Value) -> String {
    format!("{}\nStore the key now: it is not shown again.", fields(value))
}

fn key_table(value: &Value) -> String {
    let mut table = Table::new();
    table.set_header([
        "ID",
        "NAME",
        "PREFIX",
        "CREATED",
        "LAST USED",
        "EXPIRES",
        "REVOKED",
    ]);
    for key in value.as_array().into_iter().flatten() {
        table.add_row(
            [
                "id",
                "name",
                "prefix",
                "created_at",
                "last_used_at",
                "expires_at",
                "revoked_at",
            ]
            .map(|field| text(&key[field])),
        );
    }
    table.to_string()
}

fn offer_table(value: &Value) -> String {
    let mut table = Table::new();
    table.set_header(["PROVIDER", "ID", "GPU", "VRAM GB", "GPUS", "USD/HOUR", "LOCATION"]);
    for offer in value["data"].as_array().into_iter().flatten() {
        table.add_row([
            text(&offer["provider"]),
            text(&offer["id"]),
            text(&offer["gpu_model"]),
            text(&offer["vram_gb"]),
            text(&offer["num_gpus"]),
            price(&offer["price_per_hour"]),
            text(&offer["location"]),
        ]);
    }
    let mut output = format!(
        "{table}
{} of {} offers (page {})",
        text(&value["count"]),
        text(&value["total"]),
        text(&value["page"])
    );
    for warning in value["warnings"].as_array().into_iter().flatten() {
        output.push_str(&format!("\nwarning: {}", text(warning)));
    }
    output
}

fn health(value: &Value) -> String {
    let mut table = Table::new();
    table.set_header(["DEPENDENCY", "STATUS"]);
    for (name, status) in value["services"].as_object().into_iter().flatten() {
        table.add_row([name.clone(), text(status)]);
    }
    for (name, provider) in value["providers"].as_object().into_iter().flatten() {
        let simulated = if provider["simulated"] == true {
            " (simulated)"
        } else {
            ""
        };
        table.add_row([
            format!("provider {name}"),
            format!(
                "{}{simulated}, {} offers",
                text(&provider["status"]),
                text(&provider["offers"])
            ),
        ]);
    }
    format!(
        "{} ({})\n{table}",
        text(&value["status"]),
        text(&value["timestamp"])
    )
}
