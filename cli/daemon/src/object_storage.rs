//! Object storage variables (`OCI_*`), read by the inference service for model artifacts.

use gpuproxy_config::{Reader, SecretString};

/// An S3-compatible bucket (OCI Object Storage in the seeds). Without an endpoint, model artifacts are
/// kept on the local filesystem under `DATA_DIR`.
#[derive(Debug, Clone)]
pub struct ObjectStorageConfig {
    /// `OCI_STORAGE_ENDPOINT`.
    pub endpoint: Option<String>,
    /// `OCI_STORAGE_NAMESPACE`.
    pub namespace: Option<String>,
    /// `OCI_STORAGE_BUCKET`.
    pub bucket: String,
    /// `OCI_STORAGE_REGION`.
    pub region: String,
    /// `OCI_ACCESS_KEY_ID`.
    pub access_key_id: Option<SecretString>,
    /// `OCI_SECRET_ACCESS_KEY`.
    pub secret_access_key: Option<SecretString>,
}

impl ObjectStorageConfig {
    /// Reads the object storage variables.
    pub fn read(reader: &mut Reader<'_>) -> Self {
        let config = ObjectStorageConfig {
            endpoint: reader.optional_string("OCI_STORAGE_ENDPOINT"),
            namespace: reader.optional_string("OCI_STORAGE_NAMESPACE"),
            bucket: reader.string("OCI_STORAGE_BUCKET", "gpuproxy-models"),
            region: reader.string("OCI_STORAGE_REGION", "us-ashburn-1"),
            access_key_id: reader.secret("OCI_ACCESS_KEY_ID"),
            secret_access_key: reader.secret("OCI_SECRET_ACCESS_KEY"),
        };
        if let Some(endpoint) = &config.endpoint {
            gpuproxy_config::check_http_url(reader, "OCI_STORAGE_ENDPOINT", endpoint);
            if config.access_key_id.is_none() || config.secret_access_key.is_none() {
                reader.invalid(
                    "OCI_ACCESS_KEY_ID",
                    None,
                    "OCI_ACCESS_KEY_ID and OCI_SECRET_ACCESS_KEY are required with OCI_STORAGE_ENDPOINT",
                );
            }
        }
        config
    }
}
