//! The command line.

use clap::{Parser, Subcommand};

/// aiserve-gpuproxy-admin: manage a GPU Proxy database (DB_TYPE, DB_HOST, DB_NAME, … as for the server).
#[derive(Debug, Parser)]
#[command(name = "aiserve-gpuproxy-admin", version)]
pub struct Args {
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
}
