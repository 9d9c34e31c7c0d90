//! Where the test servers are.

use gpuproxy_config::{EnvMap, Reader};

/// The servers tests talk to; the defaults are the local services the test script starts.
#[derive(Debug, Clone)]
pub struct TestServers {
    /// An admin connection to PostgreSQL, used to create and drop test databases (`TEST_DATABASE_URL`).
    pub postgres_admin_url: String,
    /// `TEST_REDIS_HOST`.
    pub redis_host: String,
    /// `TEST_REDIS_PORT`.
    pub redis_port: u16,
    /// `TEST_NATS_URL`.
    pub nats_url: String,
    /// `TEST_LOG`: show logs of the code under test.
    pub log: bool,
    /// `TEST_S3_URL`: the S3-protocol server the fleet keeps model artifacts in
    /// (`scripts/s3-server.sh` starts one; default `http://127.0.0.1:9000`).
    pub s3_url: String,
    /// `ML_RUNTIME_CACHE`: where `scripts/onnxruntime.sh` put ONNX Runtime's library (default
    /// `~/.cache/gpuproxy`).
    pub runtime_cache: String,
    /// `CLIENT_SDKS_PYTHON`: a Python with the official client SDKs the tests drive (`a2a-sdk`,
    /// `tritonclient`; default: the virtualenv `scripts/client-sdks.sh` makes under
    /// `~/.cache/gpuproxy`).
    pub client_sdks_python: String,
}

impl TestServers {
    /// Reads the test variables from the environment.
    pub fn from_env() -> Self {
        let env = EnvMap::load().unwrap_or_default();
        let mut reader = Reader::new(&env);
        TestServers {
            postgres_admin_url: reader
                .string("TEST_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres"),
            redis_host: reader.string("TEST_REDIS_HOST", "127.0.0.1"),
            redis_port: reader.number("TEST_REDIS_PORT", 6379u16, 1..=u16::MAX),
            nats_url: reader.string("TEST_NATS_URL", "nats://127.0.0.1:4222"),
            log: reader.bool("TEST_LOG", false),
            s3_url: reader.string("TEST_S3_URL", "http://127.0.0.1:9000"),
            runtime_cache: {
                let home = reader.string("HOME", "/root");
                reader.string("ML_RUNTIME_CACHE", &format!("{home}/.cache/gpuproxy"))
            },
            client_sdks_python: {
                let home = reader.string("HOME", "/root");
                reader.string(
                    "CLIENT_SDKS_PYTHON",
                    &format!("{home}/.cache/gpuproxy/venv-clients/bin/python"),
                )
            },
        }
    }
}
