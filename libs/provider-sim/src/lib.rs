//! Simulates the vast.ai and io.net GPU marketplace APIs on one local HTTP listener, with the real
//! paths, auth headers, query language, JSON shapes, units and error bodies of
//! `shared/specs/{vastai,ionet}-api.md`, so services can be tested without renting GPUs.
//!
//! Layout: `server` owns the listener and merges the routers of `vastai/`, `ionet/` and `admin`;
//! `market` holds the seeded tables both providers draw from; `lifecycle` turns elapsed time into
//! status values; `upstream/` is the per-instance "GPU" listener; `faults` and `recorder` sit in
//! front of both APIs; `fixtures` embeds the spec examples for shape checks.
//!
//! io.net hardware: 101 "GeForce RTX 3090", 102 "GeForce RTX 4090", 103 "RTX A6000", 104 "L40S",
//! 201 "A100-PCIE-40GB", 202 "A100-SXM4-80GB", 203 "H100" (SXM), 204 "H100-PCIE-80GB", 205 "H200",
//! all with brand "NVIDIA". The same models are vast.ai's "RTX 3090", "RTX 4090", "RTX A6000",
//! "L40S", "A100 PCIE", "A100 SXM4", "H100 SXM", "H100 PCIE" and "H200".

mod admin;
mod config;
mod error;
mod faults;
mod fixtures;
mod ionet;
mod lifecycle;
mod market;
mod provider;
mod recorder;
mod server;
mod state;
mod upstream;
mod vastai;

pub use crate::config::SimConfig;
pub use crate::error::SimError;
pub use crate::faults::Faults;
pub use crate::fixtures::{fixture, shape_mismatches};
pub use crate::provider::{SimProvider, UnknownProvider};
pub use crate::recorder::RecordedRequest;
pub use crate::server::Simulator;
pub use crate::upstream::{CHUNK_DELAY_HEADER, DELAY_HEADER};
