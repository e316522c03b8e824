//! Which document store to use: the primary enabled `storage` configuration
//! of the Integrations Center for new documents (else the deployment's
//! default), and for an existing document the store its event names. Opened
//! stores are kept per configuration version, so a changed configuration
//! is reopened and an unchanged one costs one read-model lookup.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use sqlx::PgPool;
use uuid::Uuid;

use crate::documents::{DocumentStore, DocumentStoreConfig};
use crate::read_models::integrations::{self, IntegrationFilter, IntegrationRow};
use crate::vault::Vault;

/// The document stores.
#[derive(Clone)]
pub struct DocumentStores {
    default: DocumentStore,
    pool: PgPool,
    vault: Vault,
    opened: Arc<Mutex<HashMap<(Uuid, i64), DocumentStore>>>,
}

impl DocumentStores {
    /// Stores over `pool`, `default` when none is configured.
    pub fn new(default: DocumentStore, pool: PgPool, vault: Vault) -> Self {
        Self {
            default,
            pool,
            vault,
            opened: Arc::default(),
        }
    }

    /// Where new documents go: the primary enabled storage configuration
    /// (its id) or the default store (`None`).
    ///
    /// # Errors
    /// When the configuration cannot be read or opened.
    pub async fn for_new(&self) -> anyhow::Result<(Option<Uuid>, DocumentStore)> {
        let filter = IntegrationFilter {
            category: Some("storage".into()),
            ..Default::default()
        };
        let rows = integrations::enabled(&self.pool, &filter).await?;
        match rows.first() {
            Some(row) => Ok((Some(row.id), self.open(row).await?)),
            None => Ok((None, self.default.clone())),
        }
    }

    /// The store holding a document recorded with `store`.
    ///
    /// # Errors
    /// When its configuration is gone or cannot be opened.
    pub async fn holding(&self, store: Option<Uuid>) -> anyhow::Result<DocumentStore> {
        let Some(id) = store else {
            return Ok(self.default.clone());
        };
        let row = integrations::get(&self.pool, id)
            .await?
            .ok_or_else(|| anyhow::anyhow!("storage configuration {id} is gone"))?;
        self.open(&row).await
    }

    /// Opens configuration `row` (enabled or not: documents stay readable
    /// after their store is switched off for new ones).
    ///
    /// # Errors
    /// When its fields are incomplete or the store cannot be opened.
    pub async fn open(&self, row: &IntegrationRow) -> anyhow::Result<DocumentStore> {
        let key = (row.id, row.version);
        if let Some(store) = self.opened.lock().ok().and_then(|o| o.get(&key).cloned()) {
            return Ok(store);
        }
        let details = row
            .state
            .details
            .as_ref()
            .ok_or_else(|| anyhow::anyhow!("storage configuration {} is empty", row.id))?;
        let credentials = self.vault.load(&self.pool, row.id).await?;
        let config = DocumentStoreConfig::from_fields(&details.provider, |name| {
            credentials
                .get(name)
                .or_else(|| details.settings.get(name))
                .cloned()
        })?;
        let store = DocumentStore::open(&config)?;
        if let Ok(mut opened) = self.opened.lock() {
            opened.insert(key, store.clone());
        }
        Ok(store)
    }
}
