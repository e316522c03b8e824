//! Where claim documents are kept: an object store (the `object_store`
//! crate), a local directory by default, Amazon S3 or Google Cloud Storage
//! by configuration (the `s3` / `gcs` features). Events record a document's
//! key and SHA-256, never its bytes.

use std::path::PathBuf;
use std::sync::Arc;

use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{GetResult, ObjectStore, ObjectStoreExt as _, PutPayload};

/// Which store to use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DocumentStoreConfig {
    /// A directory on this machine (created if missing).
    Local(PathBuf),
    /// An S3 bucket; credentials and region from the standard `AWS_*` variables.
    S3 {
        /// The bucket.
        bucket: String,
    },
    /// A GCS bucket; credentials from `GOOGLE_SERVICE_ACCOUNT` and friends.
    Gcs {
        /// The bucket.
        bucket: String,
    },
}

/// The document store.
#[derive(Clone)]
pub struct DocumentStore {
    inner: Arc<dyn ObjectStore>,
}

impl std::fmt::Debug for DocumentStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DocumentStore({})", self.inner)
    }
}

impl DocumentStore {
    /// Opens the configured store.
    ///
    /// # Errors
    /// When the directory can't be created, or the bucket's configuration is
    /// incomplete, or the feature for it was not built.
    pub fn open(config: &DocumentStoreConfig) -> anyhow::Result<Self> {
        let inner: Arc<dyn ObjectStore> = match config {
            DocumentStoreConfig::Local(dir) => {
                std::fs::create_dir_all(dir)?;
                Arc::new(LocalFileSystem::new_with_prefix(dir)?)
            }
            #[cfg(feature = "s3")]
            DocumentStoreConfig::S3 { bucket } => Arc::new(
                object_store::aws::AmazonS3Builder::from_env()
                    .with_bucket_name(bucket)
                    .build()?,
            ),
            #[cfg(feature = "gcs")]
            DocumentStoreConfig::Gcs { bucket } => Arc::new(
                object_store::gcp::GoogleCloudStorageBuilder::from_env()
                    .with_bucket_name(bucket)
                    .build()?,
            ),
            #[allow(unreachable_patterns)]
            other => anyhow::bail!("{other:?} needs ifinsure built with the `s3` or `gcs` feature"),
        };
        Ok(Self { inner })
    }

    /// Stores `bytes` under `key`.
    ///
    /// # Errors
    /// When the store fails.
    pub async fn put(&self, key: &str, bytes: Vec<u8>) -> Result<(), object_store::Error> {
        self.inner
            .put(&Path::from(key), PutPayload::from(bytes))
            .await
            .map(drop)
    }

    /// Opens `key` for streaming.
    ///
    /// # Errors
    /// When it is missing or the store fails.
    pub async fn get(&self, key: &str) -> Result<GetResult, object_store::Error> {
        self.inner.get(&Path::from(key)).await
    }
}
