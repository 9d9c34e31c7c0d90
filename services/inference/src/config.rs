//! The inference service's configuration.

use std::path::PathBuf;
use std::time::Duration;

use gpuproxy_config::{ConfigErrors, DatabaseConfig, EnvMap, INFERENCE, InternalServerConfig, Reader};

use crate::runtime::RuntimeConfig;
use crate::storage_config::ObjectStorageConfig;

/// What one user may upload.
#[derive(Debug, Clone, Copy)]
pub struct UploadLimits {
    /// `ML_MAX_MODEL_BYTES`: the largest model file.
    pub max_model_bytes: u64,
    /// `ML_STORAGE_QUOTA_BYTES`: what one user's models may take in all.
    pub quota_bytes: u64,
    /// `ML_UPLOADS_PER_HOUR`: uploads one user may start in an hour (refused ones count).
    pub per_hour: u32,
    /// `ML_UPLOADS_PER_DAY`: and in a day.
    pub per_day: u32,
}

/// Everything the inference service reads from the environment.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where models' rows are kept.
    pub database: DatabaseConfig,
    /// `DATA_DIR`/models: where artifacts are kept without object storage.
    pub local_dir: PathBuf,
    /// The bucket, when configured.
    pub object_storage: ObjectStorageConfig,
    /// Upload limits.
    pub limits: UploadLimits,
    /// ONNX Runtime.
    pub runtime: RuntimeConfig,
    /// `INFERENCE_REQUEST_COST` (USD, 0 = free): what each inference costs, charged through the
    /// guard rails and credits before it runs.
    pub request_cost_micros: i64,
    /// `SERVICE_CALL_TIMEOUT`: what a call to billing or the guard rails may take.
    pub call_timeout: Duration,
    /// `OUTBOX_POLL_INTERVAL`.
    pub outbox_poll_interval: Duration,
    /// Where the internal API listens (`INTERNAL_HOST`, `INFERENCE_GRPC_PORT`, `INTERNAL_API_TOKEN`).
    pub server: InternalServerConfig,
}

impl Config {
    /// Reads the configuration from `env`.
    pub fn from_env_map(env: &EnvMap, developer_mode: bool) -> Result<Self, ConfigErrors> {
        gpuproxy_config::read_all(env, |reader| Self::read(reader, developer_mode))
    }

    /// Reads the configuration, recording problems in `reader`.
    pub fn read(reader: &mut Reader<'_>, developer_mode: bool) -> Self {
        const GIB: u64 = 1 << 30;
        let data_dir = PathBuf::from(reader.string("DATA_DIR", "./data"));
        Config {
            database: DatabaseConfig::read(reader),
            local_dir: data_dir.join("models"),
            object_storage: ObjectStorageConfig::read(reader),
            limits: UploadLimits {
                max_model_bytes: reader.number("ML_MAX_MODEL_BYTES", 2 * GIB, 1024..=64 * GIB),
                quota_bytes: reader.number("ML_STORAGE_QUOTA_BYTES", 10 * GIB, 0..=u64::MAX),
                per_hour: reader.number("ML_UPLOADS_PER_HOUR", 20u32, 1..=100_000),
                per_day: reader.number("ML_UPLOADS_PER_DAY", 100u32, 1..=1_000_000),
            },
            runtime: RuntimeConfig {
                library: reader.optional_string("ORT_DYLIB_PATH").map(PathBuf::from),
                cache: reader
                    .optional_string("ML_RUNTIME_CACHE")
                    .map_or_else(|| data_dir.clone(), PathBuf::from),
                auto_install: reader.bool("ML_RUNTIME_AUTO_INSTALL", true),
                intra_op_threads: reader.number("ML_INTRA_OP_THREADS", 1usize, 1..=256),
                sessions_per_model: reader.number("ML_SESSIONS_PER_MODEL", 2usize, 1..=64),
            },
            request_cost_micros: {
                let cost = reader.string("INFERENCE_REQUEST_COST", "0");
                match gpuproxy_domain::UsdMicros::parse_dollars(&cost) {
                    Ok(amount) if amount.micros() >= 0 => amount.micros(),
                    Ok(_) => {
                        reader.invalid("INFERENCE_REQUEST_COST", Some(&cost), "must not be negative");
                        0
                    }
                    Err(error) => {
                        reader.invalid("INFERENCE_REQUEST_COST", Some(&cost), error.to_string());
                        0
                    }
                }
            },
            call_timeout: reader.duration("SERVICE_CALL_TIMEOUT", Duration::from_secs(10)),
            outbox_poll_interval: reader.duration("OUTBOX_POLL_INTERVAL", Duration::from_millis(500)),
            server: InternalServerConfig::read(reader, &INFERENCE, developer_mode),
        }
    }
}
