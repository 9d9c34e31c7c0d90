//! Model artifacts in object storage: the local filesystem, or an S3-compatible bucket. Uploads are
//! written in parts as they arrive, so a model is never whole in memory on its way in.

use std::sync::Arc;

use bytes::Bytes;
use gpuproxy_config::ExposeSecret;
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, WriteMultipart};

use crate::config::Config;

/// Where artifacts are kept. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Storage {
    store: Arc<dyn ObjectStore>,
    describe: String,
}

impl Storage {
    /// Opens the bucket the configuration names, or the local directory.
    pub fn open(config: &Config) -> anyhow::Result<Self> {
        let bucket = &config.object_storage;
        match &bucket.endpoint {
            Some(endpoint) => {
                let store = AmazonS3Builder::new()
                    .with_endpoint(endpoint)
                    .with_bucket_name(&bucket.bucket)
                    .with_region(&bucket.region)
                    .with_access_key_id(
                        bucket
                            .access_key_id
                            .as_ref()
                            .map(|key| key.expose_secret().to_owned())
                            .unwrap_or_default(),
                    )
                    .with_secret_access_key(
                        bucket
                            .secret_access_key
                            .as_ref()
                            .map(|key| key.expose_secret().to_owned())
                            .unwrap_or_default(),
                    )
                    // OCI's S3 compatibility (and most S3 servers but AWS) address buckets by path.
                    .with_virtual_hosted_style_request(false)
                    .with_allow_http(endpoint.starts_with("http://"))
                    .build()?;
                Ok(Storage {
                    store: Arc::new(store),
                    describe: format!("s3 {endpoint}/{}", bucket.bucket),
                })
            }
            None => {
                std::fs::create_dir_all(&config.local_dir)?;
                Ok(Storage {
                    store: Arc::new(LocalFileSystem::new_with_prefix(&config.local_dir)?),
                    describe: format!("local {}", config.local_dir.display()),
                })
            }
        }
    }

    /// Says where artifacts are kept, for logs.
    pub fn describe(&self) -> &str {
        &self.describe
    }

    /// Starts writing the object at `key` in parts.
    pub async fn writer(&self, key: &str) -> Result<WriteMultipart, object_store::Error> {
        let upload = self.store.put_multipart(&Path::from(key)).await?;
        Ok(WriteMultipart::new(upload))
    }

    /// The whole object at `key`.
    pub async fn read(&self, key: &str) -> Result<Bytes, object_store::Error> {
        self.store.get(&Path::from(key)).await?.bytes().await
    }

    /// Bytes `range` of the object at `key`.
    pub async fn read_range(
        &self,
        key: &str,
        range: std::ops::Range<u64>,
    ) -> Result<Bytes, object_store::Error> {
        self.store.get_range(&Path::from(key), range).await
    }

    /// Deletes the object at `key`; one that is not there is deleted already.
    pub async fn delete(&self, key: &str) -> Result<(), object_store::Error> {
        match self.store.delete(&Path::from(key)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(error) => Err(error),
        }
    }
}
