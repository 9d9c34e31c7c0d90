//! The command line.
//!
//! Each command with options has an `…Args` struct whose pure `path()`/`body()` build the REST
//! call, so the calls are tested without a server. Files: `instance.rs` (`create`, `destroy`),
//! `reservation.rs` (`reserve`), `load_balancer.rs` (`lb-strategy`, `load`), `proxy.rs`,
//! `offer_filters.rs` (shared by `list` and `reserve`), `pairs.rs` (`NAME=VALUE` options).

mod instance;
mod load_balancer;
mod offer_filters;
mod pairs;
mod proxy;
mod reservation;

use clap::{Parser, Subcommand};
use serde_json::{Map, Value};

pub use instance::{CreateArgs, DestroyArgs};
pub use load_balancer::{LoadArgs, STRATEGY_PATH, StrategyArgs};
pub use offer_filters::OfferFilterArgs;
pub use proxy::{PROXY_PATH, ProxyArgs};
pub use reservation::ReserveArgs;

/// aiserve-gpuproxy-client: talk to a GPU Proxy server.
#[derive(Debug, Parser)]
#[command(name = "aiserve-gpuproxy-client", version)]
pub struct Args {
    /// The server's REST address.
    #[arg(
        long,
        env = "GPUPROXY_SERVER",
        default_value = "http://localhost:8080",
        global = true
    )]
    pub server: String,
    /// An API key (-key KEY, as in the original client).
    #[arg(long, env = "GPUPROXY_API_KEY", global = true, hide_env_values = true)]
    pub key: Option<String>,
    /// A JWT from `login`, used when no key is given.
    #[arg(long, env = "GPUPROXY_TOKEN", global = true, hide_env_values = true)]
    pub token: Option<String>,
    /// Developer mode (-dv): trace each call (method, URL, status, time, request id) on standard error.
    #[arg(long = "developer-mode", global = true)]
    pub developer_mode: bool,
    /// Debug mode (-dm): also print response headers and bodies on standard error.
    #[arg(long = "debug-mode", global = true)]
    pub debug_mode: bool,
    /// Print JSON instead of tables.
    #[arg(long, global = true)]
    pub json: bool,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create an account.
    Register {
        /// Email address.
        email: String,
        /// Password (at least 8 characters).
        password: String,
        /// Full name.
        name: String,
    },
    /// Log in and print a token (export it as GPUPROXY_TOKEN).
    Login {
        /// Email address.
        email: String,
        /// Password.
        password: String,
    },
    /// End the session of --token.
    Logout,
    /// Show who the credentials belong to.
    Whoami,
    /// Manage API keys.
    Apikey {
        /// What to do with keys.
        #[command(subcommand)]
        command: ApiKeyCommand,
    },
    /// List GPU offers of every provider, cheapest first (list [vast.ai|io.net|all]).
    List(ListArgs),
    /// Rent a GPU offer as an instance (create vast.ai 12345).
    Create(CreateArgs),
    /// Terminate a rented instance (destroy vast.ai 12345).
    Destroy(DestroyArgs),
    /// List the instances you rent.
    Instances,
    /// Reserve up to 16 instances at once and wait until they run (reserve 16).
    Reserve(ReserveArgs),
    /// Show or set the load-balancing strategy (lb-strategy [least_connections]).
    LbStrategy(StrategyArgs),
    /// Show the load per instance and per provider (load [server|provider|all]).
    Load(LoadArgs),
    /// Send a request through the proxy (proxy https https://api.example.com).
    Proxy(ProxyArgs),
    /// Show the server's health.
    Health,
    /// Agent protocols and actions.
    Agent {
        /// What to show.
        #[command(subcommand)]
        command: AgentCommand,
    },
    /// Your models: upload, list, get, delete, predict.
    Models {
        /// What to do with models.
        #[command(subcommand)]
        command: ModelsCommand,
    },
    /// Serve MCP on standard input and output for a desktop assistant, forwarding every request to
    /// the server's /api/v1/mcp with -key (or --token).
    Mcp,
    /// Show your credits (remaining, total, overage, cap).
    Credits,
    /// Turn auto-renewal on or off (auto-renew on --amount 20): a debit that takes your balance
    /// below the low-credit threshold charges your latest card payment's method that much.
    AutoRenew {
        /// `on` or `off`.
        #[arg(value_parser = ["on", "off"])]
        state: String,
        /// USD each renewal adds (at least 0.50); required the first time it is turned on.
        #[arg(long)]
        amount: Option<f64>,
    },
    /// Show your usage records, newest first.
    Usage {
        /// At most this many.
        #[arg(long, default_value_t = 50)]
        limit: i32,
        /// Skip this many.
        #[arg(long, default_value_t = 0)]
        offset: i32,
    },
    /// Show your payments, newest first.
    Transactions {
        /// At most this many.
        #[arg(long, default_value_t = 50)]
        limit: i32,
        /// Skip this many.
        #[arg(long, default_value_t = 0)]
        offset: i32,
    },
}

/// Filters, sort and page of `list`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ListArgs {
    /// `vast.ai`, `io.net` or `all`.
    #[arg(default_value = "all")]
    pub provider: String,
    /// Which offers to list.
    #[command(flatten)]
    pub filters: OfferFilterArgs,
    /// price, vram, num_gpus, reliability, gpu_model or location.
    #[arg(long)]
    pub sort: Option<String>,
    /// Sort descending.
    #[arg(long)]
    pub desc: bool,
    /// 1-based page.
    #[arg(long)]
    pub page: Option<u32>,
    /// Offers per page (1-500, default 50).
    #[arg(long)]
    pub page_size: Option<u32>,
}

impl ListArgs {
    /// Returns the REST path with the filters as query parameters.
    pub fn path(&self) -> String {
        let mut pairs: Vec<(&str, String)> = vec![("provider", self.provider.clone())];
        let mut optional = self.filters.query_pairs();
        optional.extend([
            ("sort", self.sort.clone()),
            ("order", self.desc.then(|| "desc".to_owned())),
            ("page", self.page.map(|value| value.to_string())),
            ("page_size", self.page_size.map(|value| value.to_string())),
        ]);
        pairs.extend(
            optional
                .into_iter()
                .filter_map(|(name, value)| Some((name, value?))),
        );
        let query: String = reqwest::Url::parse_with_params("http://localhost/", &pairs)
            .ok()
            .and_then(|url| url.query().map(str::to_owned))
            .unwrap_or_default();
        format!("/api/v1/gpu/instances?{query}")
    }
}

/// What to do with models.
#[derive(Debug, Subcommand)]
pub enum ModelsCommand {
    /// Upload a model file (models upload model.onnx --name my-model); it streams from disk.
    Upload {
        /// The file.
        file: std::path::PathBuf,
        /// Its name; uploading a name again makes its next version.
        #[arg(long)]
        name: String,
        /// What you believe its format is (the server tells it from the bytes anyway).
        #[arg(long)]
        format: Option<String>,
    },
    /// List your models and the storage they take.
    List,
    /// Show one model with its inputs and outputs.
    Get {
        /// The model's id.
        id: String,
    },
    /// Delete a model and its file.
    Delete {
        /// The model's id.
        id: String,
    },
    /// Run a model (models predict ID --input '[1.0, 2.0, 3.0, 4.0]').
    Predict {
        /// The model's id.
        id: String,
        /// The input as JSON: a list of numbers, or nested lists for a batch.
        #[arg(long)]
        input: String,
    },
}

/// What to ask about agents.
#[derive(Debug, Subcommand)]
pub enum AgentCommand {
    /// The protocols agents may speak to the server, where, and the actions they may take.
    Discover,
}

/// What to do with API keys.
#[derive(Debug, Subcommand)]
pub enum ApiKeyCommand {
    /// Create a key (shown once).
    Create {
        /// A label for the key.
        name: String,
        /// Days until the key expires.
        #[arg(long)]
        expires_in_days: Option<u32>,
    },
    /// List your keys.
    List,
    /// Revoke a key by id.
    Revoke {
        /// The key's id.
        id: String,
    },
}

impl Args {
    /// Parses the process's arguments, accepting the original client's `-key`, `-dv` and `-dm`.
    pub fn from_process() -> Self {
        Args::parse_from(gpuproxy_config::process_args())
    }
}

/// Returns a JSON object of the fields that are present: the server reads an absent field as "not
/// given", which a `null` would not always mean.
fn present_fields<'name>(fields: impl IntoIterator<Item = (&'name str, Option<Value>)>) -> Value {
    let object: Map<String, Value> = fields
        .into_iter()
        .filter_map(|(name, value)| Some((name.to_owned(), value?)))
        .collect();
    Value::Object(object)
}

/// Returns the REST path of `segments`, each percent-encoded so that an id with `/` or spaces
/// stays one segment.
fn rest_path(segments: &[&str]) -> String {
    // The base is a constant that parses; the unescaped fallback only keeps the function total.
    let Ok(mut url) = reqwest::Url::parse("http://localhost/") else {
        return format!("/{}", segments.join("/"));
    };
    if let Ok(mut path) = url.path_segments_mut() {
        path.clear().extend(segments);
    }
    url.path().to_owned()
}

#[cfg(test)]
mod tests {
    use gpuproxy_config::normalize_legacy_flags;

    use super::*;

    #[test]
    fn the_seed_invocation_parses() {
        let args = [
            "aiserve-gpuproxy-client",
            "-key",
            "gpx_abc",
            "-dv",
            "-dm",
            "whoami",
        ]
        .map(str::to_owned);
        let args = Args::try_parse_from(normalize_legacy_flags(args)).expect("valid");
        assert_eq!(args.key.as_deref(), Some("gpx_abc"));
        assert!(args.developer_mode && args.debug_mode);
        assert!(matches!(args.command, Command::Whoami));
    }

    #[test]
    fn list_takes_the_provider_and_filters() {
        let args = [
            "aiserve-gpuproxy-client",
            "-key",
            "k",
            "list",
            "vast.ai",
            "--min-vram",
            "24",
            "--gpu-model",
            "RTX 4090",
        ]
        .map(str::to_owned);
        let args = Args::try_parse_from(normalize_legacy_flags(args)).expect("valid");
        let Command::List(list) = args.command else {
            panic!("a list command");
        };
        assert_eq!(
            list.path(),
            "/api/v1/gpu/instances?provider=vast.ai&min_vram=24&gpu_model=RTX+4090"
        );
        let bare = Args::try_parse_from(["aiserve-gpuproxy-client", "list"]).expect("valid");
        let Command::List(list) = bare.command else {
            panic!("a list command");
        };
        assert_eq!(list.path(), "/api/v1/gpu/instances?provider=all");
    }
}
