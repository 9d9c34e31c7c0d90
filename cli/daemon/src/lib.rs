//! `aiserve-gpuproxyd`: the GPU Proxy server. Runs every service in one process (embedded: SQLite,
//! in-memory stores, in-process bus, unless configured otherwise) or one service of the fleet
//! (`--service <name>`, any row of the service table, or `gateway`).
//!
//! Layout: `args.rs` parses the command line (with the seed's `-dv`/`-dm`); `registry.rs` names the
//! crate of each row of the service table; `config.rs` reads every service's configuration from one
//! environment; `simulator.rs` starts the provider simulator when it stands in for the marketplaces;
//! `fleet.rs` builds and starts the chosen services; `banner.rs` says where they listen;

mod args;
mod banner;
mod config;
mod fleet;
mod registry;
mod simulator;

pub use args::{Args, Role};
pub use banner::banner;
pub use config::DaemonConfig;
pub use fleet::{FIRST_ADMIN_EMAIL, FirstAdmin, Running, init_telemetry, run_until_shutdown, start};
pub use registry::{entry, registry};
pub use simulator::{SimulatorMode, SimulatorSettings};
