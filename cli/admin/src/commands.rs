//! Running commands: on the database here, through the gateway in `guardrails.rs` and `credits.rs`.

mod credits;
mod guardrails;

use comfy_table::Table;
use gpuproxy_auth::{AuthService, Registration, UserRecord};
use gpuproxy_config::EnvMap;
use gpuproxy_db::Database;
use gpuproxy_kv::KvStore;
use serde_json::{Value, json};

use crate::{Args, Command};

/// Runs the command in `args` against the database the environment names; returns what to print.
pub async fn run(args: Args) -> anyhow::Result<String> {
    if args.command.uses_gateway() {
        if matches!(args.command, Command::Credits { .. } | Command::Usage { .. }) {
            return credits::run(args.command, &args.url, args.api_key, args.json).await;
        }
        return guardrails::run(args.command, &args.url, args.api_key, args.json).await;
    }
    let env = EnvMap::load()?;
    // The admin tool never signs tokens, so it does not need the server's JWT_SECRET.
    let config = gpuproxy_auth::Config::from_env_map(&env, true)?;
    let database = Database::connect(&config.database).await?;
    // Every command migrates first: the tool is also how a fresh database gets its schema.
    migrate(&database).await?;
    let described = database.describe().to_owned();
    let service = AuthService::new(&config, database, KvStore::memory());
    let output = match args.command {
        Command::Migrate => render(args.json, json!({"migrated": described}), || {
            format!("migrations applied to {described}")
        }),
        Command::Users { limit, offset } => {
            let (users, total) = service.list_users(limit, offset).await?;
            let rows: Vec<Value> = users.iter().map(user_json).collect();
            render(args.json, json!({"users": rows, "total": total}), || {
                users_table(&users, total)
            })
        }
        Command::CreateUser {
            email,
            password,
            name,
            admin,
        } => {
            let registration = Registration {
                email: &email,
                password: &password,
                name: &name,
                is_admin: admin,
            };
            let user = service.register(registration).await?;
            render(args.json, user_json(&user), || {
                format!("created {} ({})", user.email, user.id)
            })
        }
        Command::MakeAdmin { email, revoke } => {
            let user = service.set_admin(&email, !revoke).await?;
            let role = if user.is_admin() {
                "an admin"
            } else {
                "not an admin"
            };
            render(args.json, user_json(&user), || {
                format!("{} is now {role}", user.email)
            })
        }
        Command::CreateApikey { email, name } => {
            let user = service.user_by_email(&email).await?;
            let (key, secret) = service.create_api_key(user.id, &name, None).await?;
            let value = json!({"id": key.id, "api_key": secret.expose(), "name": key.name, "prefix": key.prefix, "user": user.email});
            render(args.json, value, || {
                format!(
                    "API key for {} (shown once, store it now):\n{}",
                    user.email,
                    secret.expose()
                )
            })
        }
        Command::Stats => {
            let stats = service.stats().await?;
            let value = json!({
                "users": stats.users,
                "admins": stats.admins,
                "active_api_keys": stats.active_api_keys,
                "revoked_api_keys": stats.revoked_api_keys,
                "active_sessions": stats.active_sessions,
            });
            render(args.json, value.clone(), || key_value_table(&value))
        }
        Command::GuardrailsStatus
        | Command::GuardrailsSpending { .. }
        | Command::GuardrailsReset { .. }
        | Command::GuardrailsLimits { .. }
        | Command::Credits { .. }
        | Command::Usage { .. } => anyhow::bail!("this command uses the gateway"),
    };
    Ok(output)
}

/// Applies the schema of every service of the table, each as the service itself applies it.
async fn migrate(database: &Database) -> anyhow::Result<()> {
    for service in gpuproxy_daemon::registry() {
        database.migrate(service.migrations()).await?;
    }
    Ok(())
}

fn render(as_json: bool, value: Value, human: impl FnOnce() -> String) -> String {
    if as_json { value.to_string() } else { human() }
}

fn user_json(user: &UserRecord) -> Value {
    json!({
        "user_id": user.id,
        "email": user.email,
        "name": user.name,
        "is_admin": user.is_admin(),
        "created_at": timestamp(user.created_at),
    })
}

fn timestamp(millis: i64) -> String {
    chrono::DateTime::from_timestamp_millis(millis)
        .map(|time| time.to_rfc3339())
        .unwrap_or_default()
}

fn users_table(users: &[UserRecord], total: i64) -> String {
    let mut table = Table::new();
    table.set_header(["ID", "EMAIL", "NAME", "ADMIN", "CREATED"]);
    for user in users {
        let admin = if user.is_admin() { "yes" } else { "no" };
        table.add_row([
            &user.id.to_string(),
            &user.email,
            &user.name,
            admin,
            &timestamp(user.created_at),
        ]);
    }
    format!("{table}\n{} of {total} user(s)", users.len())
}

fn key_value_table(value: &Value) -> String {
    let mut table = Table::new();
    if let Some(map) = value.as_object() {
        for (name, value) in map {
            table.add_row([name.clone(), value.to_string()]);
        }
    }
    table.to_string()
}
