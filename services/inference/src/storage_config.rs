//! Where model artifacts are kept: an S3-compatible bucket (the seeds' OCI Object Storage, or any
//! S3 server) named by the `OCI_*` variables, or plain `S3_*` ones; without an endpoint, the local
//! filesystem under `DATA_DIR`.

use gpuproxy_config::{Reader, SecretString};

/// An S3-compatible bucket (OCI Object Storage in the seeds). Without an endpoint, model artifacts are
/// kept on the local filesystem under `DATA_DIR`.
#[derive(Debug, Clone)]
pub struct ObjectStorageConfig {
    /// `OCI_STORAGE_ENDPOINT` (or `S3_ENDPOINT`); with only `OCI_STORAGE_NAMESPACE`, OCI's S3
    /// compatibility endpoint of `OCI_STORAGE_REGION`.
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
        let namespace = reader.optional_string("OCI_STORAGE_NAMESPACE");
        let s3_bucket = reader.optional_string("S3_BUCKET");
        let s3_region = reader.optional_string("S3_REGION");
        let region = s3_region.unwrap_or_else(|| reader.string("OCI_STORAGE_REGION", "us-ashburn-1"));
        let endpoint = reader
            .optional_string("OCI_STORAGE_ENDPOINT")
            .or_else(|| reader.optional_string("S3_ENDPOINT"))
            .or_else(|| {
                namespace.as_ref().map(|namespace| {
                    format!("https://{namespace}.compat.objectstorage.{region}.oraclecloud.com")
                })
            });
        let config = ObjectStorageConfig {
            endpoint,
            namespace,
            bucket: s3_bucket.unwrap_or_else(|| reader.string("OCI_STORAGE_BUCKET", "gpuproxy-models")),
            region,
            access_key_id: reader
                .secret("OCI_ACCESS_KEY_ID")
                .or_else(|| reader.secret("S3_ACCESS_KEY_ID")),
            secret_access_key: reader
                .secret("OCI_SECRET_ACCESS_KEY")
                .or_else(|| reader.secret("S3_SECRET_ACCESS_KEY")),
        };
        if let Some(endpoint) = &config.endpoint {
            gpuproxy_config::check_http_url(reader, "OCI_STORAGE_ENDPOINT", endpoint);
            if config.access_key_id.is_none() || config.secret_access_key.is_none() {
                reader.invalid(
                    "OCI_ACCESS_KEY_ID",
                    None,
                    "OCI_ACCESS_KEY_ID and OCI_SECRET_ACCESS_KEY (or S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY) are required with an object storage endpoint",
                );
            }
        }
        config
    }
}
