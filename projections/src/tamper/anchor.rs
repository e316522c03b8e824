//! The copy of every checkpoint kept outside the database (the anchor): a
//! directory on another disk or mount (`CHAIN_ANCHOR_PATH`, files written
//! once and never replaced), or the document store (`CHAIN_ANCHOR=
//! document_store`: give the bucket an object-lock retention and nobody
//! can remove them). Someone who can write the database cannot make a
//! checkpoint disappear from here; verification compares the two.

use std::path::Path;

use crate::documents::{DocumentStore, DocumentStoreConfig};

use super::checkpoint::Checkpoint;

/// Where anchored checkpoints live in the store.
const PREFIX: &str = "chain-checkpoints";

/// The anchor.
#[derive(Debug, Clone)]
pub struct Anchor {
    store: DocumentStore,
}

impl Anchor {
    /// An anchor in `directory` (created if missing).
    ///
    /// # Errors
    /// When the directory cannot be made.
    pub fn directory(directory: &Path) -> anyhow::Result<Self> {
        Ok(Self {
            store: DocumentStore::open(&DocumentStoreConfig::Local(directory.to_path_buf()))?,
        })
    }

    /// An anchor in `store` (under `chain-checkpoints/`).
    pub fn in_store(store: DocumentStore) -> Self {
        Self { store }
    }

    fn key(id: i64) -> String {
        format!("{PREFIX}/checkpoint-{id:012}.json")
    }

    /// Keeps `checkpoint`; one already kept under its number is left as
    /// it is (and must be the same).
    ///
    /// # Errors
    /// When the store fails, or holds another checkpoint under its number.
    pub async fn keep(&self, checkpoint: &Checkpoint) -> anyhow::Result<()> {
        let json = checkpoint.to_json();
        match self
            .store
            .create(&Self::key(checkpoint.id), json.clone().into_bytes())
            .await
        {
            Ok(()) => Ok(()),
            Err(object_store::Error::AlreadyExists { .. }) => {
                let kept = self.read(checkpoint.id).await?;
                anyhow::ensure!(
                    kept.as_ref() == Some(checkpoint),
                    "the anchor holds another checkpoint {}",
                    checkpoint.id
                );
                Ok(())
            }
            Err(error) => Err(error.into()),
        }
    }

    /// The checkpoint kept under `id`, if any.
    ///
    /// # Errors
    /// When the store fails or the file is not a checkpoint.
    pub async fn read(&self, id: i64) -> anyhow::Result<Option<Checkpoint>> {
        match self.store.get(&Self::key(id)).await {
            Ok(found) => Ok(Some(serde_json::from_slice(&found.bytes().await?)?)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(error) => Err(error.into()),
        }
    }

    /// Every kept checkpoint's number, in order.
    ///
    /// # Errors
    /// When the store fails.
    pub async fn ids(&self) -> anyhow::Result<Vec<i64>> {
        let mut ids: Vec<i64> = self
            .store
            .list(PREFIX)
            .await?
            .iter()
            .filter_map(|key| {
                key.rsplit('/')
                    .next()?
                    .strip_prefix("checkpoint-")?
                    .strip_suffix(".json")?
                    .parse()
                    .ok()
            })
            .collect();
        ids.sort_unstable();
        Ok(ids)
    }
}
