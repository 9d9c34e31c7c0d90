//! The inference service: users' models, told apart by their bytes, validated, kept in object
//! storage, listed and deleted by their owner.
//!
//! Layout: `formats/` tells a file's format from its bytes and whether it is served (and, when it
//! is not, what to upload instead); `onnx.rs` reads an ONNX model's graph (a corrupt file is
//! refused, a good one gives its inputs and outputs); `storage.rs` keeps artifacts (local files or
//! an S3-compatible bucket, `storage_config.rs`); `store.rs` is the `models` table; `models.rs` is
//! the use cases (upload within the limits, list, get, delete, with their events); `runtime/` is
//! ONNX Runtime (its library, a pool of sessions per model) and `predict.rs` runs a model on an
//! input; `grpc.rs` serves them; `app.rs` builds the service.

mod app;
mod config;
mod error;
pub mod formats;
mod grpc;
mod models;
pub mod onnx;
mod predict;
pub mod runtime;
mod storage;
mod storage_config;
mod store;

pub use app::App;
pub use config::{Config, UploadLimits};
pub use storage_config::ObjectStorageConfig;
