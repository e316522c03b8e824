//! Where claim documents are kept: an object store (the `object_store`
//! crate), a local directory, Amazon S3 or Google Cloud Storage (the `s3` /
//! `gcs` features). The deployment's default store is set at start
//! (`DOCUMENT_STORE*`); an admin may choose another in the Integrations
//! Center (the primary enabled `storage` configuration), and new documents
//! go there. Events record a document's key, SHA-256 and which store holds
//! it, never its bytes, so switching stores loses nothing.

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
    /// An S3 bucket; what is not given comes from the standard `AWS_*`
    /// variables.
    S3 {
        /// The bucket.
        bucket: String,
        /// The region.
        region: Option<String>,
        /// Access key id.
        access_key_id: Option<String>,
        /// Secret access key.
        secret_access_key: Option<String>,
        /// Another endpoint (MinIO, a proxy).
        endpoint: Option<String>,
    },
    /// A GCS bucket; credentials from the service account key, else from
    /// `GOOGLE_SERVICE_ACCOUNT` and friends.
    Gcs {
        /// The bucket.
        bucket: String,
        /// The service account key (JSON).
        service_account_key: Option<String>,
    },
}

impl DocumentStoreConfig {
    /// The store an Integrations Center configuration of `provider`
    /// (`local`, `s3`, `gcs`) describes.
    ///
    /// # Errors
    /// When a required field is missing or the provider is not a store.
    pub fn from_fields(
        provider: &str,
        field: impl Fn(&str) -> Option<String>,
    ) -> anyhow::Result<Self> {
        let required = |name: &str| {
            field(name).ok_or_else(|| anyhow::anyhow!("the {provider} configuration has no {name}"))
        };
        Ok(match provider {
            "local" => DocumentStoreConfig::Local(required("path")?.into()),
            "s3" => DocumentStoreConfig::S3 {
                bucket: required("bucket")?,
                region: field("region"),
                access_key_id: field("access_key_id"),
                secret_access_key: field("secret_access_key"),
                endpoint: field("base_url"),
            },
            "gcs" => DocumentStoreConfig::Gcs {
                bucket: required("bucket")?,
                service_account_key: field("service_account_key"),
            },
            other => anyhow::bail!("{other} is not a document store"),
        })
    }
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
            DocumentStoreConfig::S3 {
                bucket,
                region,
                access_key_id,
                secret_access_key,
                endpoint,
            } => {
                let mut builder =
                    object_store::aws::AmazonS3Builder::from_env().with_bucket_name(bucket);
                if let Some(region) = region {
                    builder = builder.with_region(region);
                }
                if let (Some(id), Some(secret)) = (access_key_id, secret_access_key) {
                    builder = builder
                        .with_access_key_id(id)
                        .with_secret_access_key(secret);
                }
                if let Some(endpoint) = endpoint {
                    builder = builder
                        .with_endpoint(endpoint)
                        .with_allow_http(endpoint.starts_with("http://"));
                }
                Arc::new(builder.build()?)
            }
            #[cfg(feature = "gcs")]
            DocumentStoreConfig::Gcs {
                bucket,
                service_account_key,
            } => {
                let mut builder = object_store::gcp::GoogleCloudStorageBuilder::from_env()
                    .with_bucket_name(bucket);
                if let Some(key) = service_account_key {
                    builder = builder.with_service_account_key(key);
                }
                Arc::new(builder.build()?)
            }
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

    /// Stores `bytes` under `key` only if nothing is there yet: an object
    /// once written is never replaced through here.
    ///
    /// # Errors
    /// `AlreadyExists` when `key` is taken; when the store fails.
    pub async fn create(&self, key: &str, bytes: Vec<u8>) -> Result<(), object_store::Error> {
        self.inner
            .put_opts(
                &Path::from(key),
                PutPayload::from(bytes),
                object_store::PutMode::Create.into(),
            )
            .await
            .map(drop)
    }

    /// The keys under `prefix`.
    ///
    /// # Errors
    /// When the store fails.
    pub async fn list(&self, prefix: &str) -> Result<Vec<String>, object_store::Error> {
        use futures::TryStreamExt as _;
        let found: Vec<object_store::ObjectMeta> = self
            .inner
            .list(Some(&Path::from(prefix)))
            .try_collect()
            .await?;
        Ok(found.into_iter().map(|m| m.location.to_string()).collect())
    }

    /// Removes `key`.
    ///
    /// # Errors
    /// When the store fails.
    pub async fn delete(&self, key: &str) -> Result<(), object_store::Error> {
        self.inner.delete(&Path::from(key)).await
    }

    /// Writes, reads back and removes a probe object: whether the store
    /// works with these credentials.
    ///
    /// # Errors
    /// When any step fails or the bytes read differ.
    pub async fn probe(&self) -> anyhow::Result<()> {
        let key = format!("ifinsure-connection-test/{}", uuid::Uuid::new_v4());
        self.put(&key, b"ifinsure".to_vec()).await?;
        let read = self.get(&key).await?.bytes().await?;
        self.delete(&key).await?;
        anyhow::ensure!(
            read.as_ref() == b"ifinsure",
            "the store returned other bytes"
        );
        Ok(())
    }

    /// Opens `key` for streaming.
    ///
    /// # Errors
    /// When it is missing or the store fails.
    pub async fn get(&self, key: &str) -> Result<GetResult, object_store::Error> {
        self.inner.get(&Path::from(key)).await
    }
}
