//! The command line.

use clap::{Parser, Subcommand};

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
    /// Show the server's health.
    Health,
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
}
