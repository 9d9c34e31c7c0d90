//! Compiles the protos with the vendored `protoc`, so a fresh machine needs nothing installed.

use std::path::{Path, PathBuf};

const PUBLIC_PROTOS: &[&str] = &["gpuproxy/v1/gpuproxy.proto", "kserve/v2/grpc_predict_v2.proto"];

const INTERNAL_PROTOS: &[&str] = &[
    "gpuproxy/auth/v1/auth.proto",
    "gpuproxy/catalog/v1/catalog.proto",
    "gpuproxy/reservation/v1/reservation.proto",
    "gpuproxy/billing/v1/billing.proto",
    "gpuproxy/guardrails/v1/guardrails.proto",
    "gpuproxy/webhooks/v1/webhooks.proto",
    "gpuproxy/agents/v1/agents.proto",
    "gpuproxy/inference/v1/inference.proto",
    "gpuproxy/events/v1/events.proto",
];

#[expect(
    clippy::disallowed_methods,
    reason = "a build script's inputs are environment variables"
)]
fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Read when the script runs, not baked in when it is compiled: a shared target directory (CI's)
    // reuses one compiled script for checkouts at other paths, which may since have been removed.
    let proto_root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?).join("../../proto");
    // tonic-prost-build prints no rerun-if lines of its own; without this one, .proto edits are ignored.
    println!("cargo:rerun-if-changed={}", proto_root.display());
    println!("cargo:rerun-if-env-changed=PROTOC");
    let protoc = match std::env::var_os("PROTOC") {
        Some(path) => PathBuf::from(path),
        None => protoc_bin_vendored::protoc_bin_path()?,
    };
    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
    let includes = [proto_root.clone()];

    tonic_prost_build::configure()
        .file_descriptor_set_path(out_dir.join("public_descriptor.bin"))
        .compile_with_config(
            prost_config(&protoc),
            &with_root(&proto_root, PUBLIC_PROTOS),
            &includes,
        )?;

    tonic_prost_build::configure()
        .file_descriptor_set_path(out_dir.join("internal_descriptor.bin"))
        .type_attribute(
            ".gpuproxy.events.v1",
            "#[derive(serde::Serialize, serde::Deserialize)] #[serde(default)]",
        )
        .compile_with_config(
            prost_config(&protoc),
            &with_root(&proto_root, INTERNAL_PROTOS),
            &includes,
        )?;
    Ok(())
}

fn prost_config(protoc: &Path) -> tonic_prost_build::Config {
    let mut config = tonic_prost_build::Config::new();
    config.protoc_executable(protoc);
    config
}

fn with_root(root: &Path, protos: &[&str]) -> Vec<PathBuf> {
    protos.iter().map(|proto| root.join(proto)).collect()
}
