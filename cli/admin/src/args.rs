//! The command line.

use clap::{Parser, Subcommand};

/// aiserve-gpuproxy-admin: manage a GPU Proxy database (DB_TYPE, DB_HOST, DB_NAME, … as for the
/// server); the `guardrails-*`, `credits` and `usage` commands call a running gateway with an
/// admin's API key instead.
#[derive(Debug, Parser)]
#[command(name = "aiserve-gpuproxy-admin", version)]
pub struct Args {
    /// Print JSON instead of tables.
    #[arg(long, global = true)]
    pub json: bool,
    /// The gateway's REST address, for the `guardrails-*` commands.
    #[arg(
        long,
        env = "GPUPROXY_URL",
        default_value = "http://localhost:8080",
        global = true
    )]
    pub url: String,
    /// An admin's API key, for the `guardrails-*` commands.
    #[arg(long, env = "GPUPROXY_API_KEY", global = true, hide_env_values = true)]
    pub api_key: Option<String>,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// A user's credits; with --add, credit them first (through the gateway).
    Credits {
        /// The user's email.
        email: String,
        /// USD to add to the user's credits.
        #[arg(long, value_name = "USD")]
        add: Option<f64>,
        /// Shown in the user's credit history.
        #[arg(long, requires = "add")]
        reason: Option<String>,
        /// Credits once per key, however often the command is repeated.
        #[arg(long, requires = "add")]
        idempotency_key: Option<String>,
    },
    /// A user's usage records: client, address, instance, start, duration, cost (through the gateway).
    Usage {
        /// The user's email.
        email: String,
        /// At most this many, newest first.
        #[arg(long, default_value_t = 50)]
        limit: i32,
        /// Skip this many.
        #[arg(long, default_value_t = 0)]
        offset: i32,
    },
    /// Apply every pending migration.
    Migrate,
    /// List users.
    Users {
        /// At most this many.
        #[arg(long, default_value_t = 100)]
        limit: i64,
        /// Skip this many.
        #[arg(long, default_value_t = 0)]
        offset: i64,
    },
    /// Create a user.
    CreateUser {
        /// Email address.
        email: String,
        /// Password.
        password: String,
        /// Full name.
        name: String,
        /// Make the user an admin.
        #[arg(long)]
        admin: bool,
    },
    /// Give a user the admin role.
    MakeAdmin {
        /// The user's email.
        email: String,
        /// Take the role away instead.
        #[arg(long)]
        revoke: bool,
    },
    /// Create an API key for a user; the key is shown once.
    CreateApikey {
        /// The user's email.
        email: String,
        /// A label for the key.
        name: String,
    },
    /// Counts of users, keys and sessions.
    Stats,
    /// Whether the guard rails are on, their mode and the global limits (through the gateway).
    GuardrailsStatus,
    /// A user's spending in each of the 17 windows (through the gateway).
    GuardrailsSpending {
        /// The user's email.
        email: String,
    },
    /// Forget a user's spending in every window, or in one (through the gateway).
    GuardrailsReset {
        /// The user's email.
        email: String,
        /// One window, such as 60min; every window when left out.
        window: Option<String>,
    },
    /// Show a user's limits; with --set or --clear, change them first (through the gateway).
    GuardrailsLimits {
        /// The user's email.
        email: String,
        /// Override a window's limit in USD, e.g. --set 60min=50 (0 turns the window off); repeatable.
        #[arg(long = "set", value_name = "WINDOW=USD")]
        set: Vec<String>,
        /// Remove the user's overrides (only those of --window when given): back to the global limits.
        #[arg(long, conflicts_with = "set")]
        clear: bool,
        /// With --clear, the windows whose overrides to remove; repeatable.
        #[arg(long, requires = "clear")]
        window: Vec<String>,
    },
}

impl Command {
    /// Returns whether the command calls the gateway rather than the database.
    pub fn uses_gateway(&self) -> bool {
        matches!(
            self,
            Command::GuardrailsStatus
                | Command::GuardrailsSpending { .. }
                | Command::GuardrailsReset { .. }
                | Command::GuardrailsLimits { .. }
                | Command::Credits { .. }
                | Command::Usage { .. }
        )
    }
}
