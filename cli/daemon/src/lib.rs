//! `aiserve-gpuproxyd`: the GPU Proxy server. Runs every service in one process (embedded: SQLite,
//! in-memory stores, in-process bus, unless configured otherwise) or one service of the fleet
//! (`--service auth|gateway`).
//!
//! Layout: `args.rs` parses the command line (with the seed's `-dv`/`-dm`); `config.rs` reads every
//! service's configuration from one environment; `fleet.rs` builds and starts the chosen services;
//! `banner.rs` says where they listen.

mod args;
mod banner;
mod config;
mod fleet;

pub use args::{Args, Role};
pub use banner::banner;
pub use config::{DaemonConfig, UpcomingConfig};
pub use fleet::{FIRST_ADMIN_EMAIL, FirstAdmin, Running, init_telemetry, run_until_shutdown, start};
