//! The credential vault: integration credentials encrypted with AES-256-GCM
//! under a master key (`IFINSURE_MASTER_KEY`, 32 bytes, base64), each row
//! tagged with the key's id so keys can rotate. The configuration's id is
//! bound as associated data, so a ciphertext can't be moved to another row.

use std::collections::BTreeMap;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use uuid::Uuid;

/// Credentials of one configuration: field name → secret value.
pub type Credentials = BTreeMap<String, String>;

/// A master key and its id (the first 8 bytes of its SHA-256, hex).
#[derive(Clone)]
pub struct MasterKey {
    id: String,
    cipher: Aes256Gcm,
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MasterKey({})", self.id)
    }
}

/// Why the vault failed.
#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    /// The key is not 32 bytes of base64.
    #[error("the master key must be 32 bytes, base64-encoded")]
    BadKey,
    /// A row is sealed under a key we don't have.
    #[error("credentials sealed under key {0}, which is not configured")]
    UnknownKey(String),
    /// Decryption failed: wrong key or tampered data.
    #[error("the credentials could not be decrypted")]
    Tampered,
    /// The database failed.
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

impl MasterKey {
    /// A key from its 32 raw bytes.
    pub fn from_bytes(bytes: &[u8; 32]) -> Self {
        let digest = Sha256::digest(bytes);
        let id = domain::signatures::hex(&digest[..8]);
        Self {
            id,
            cipher: Aes256Gcm::new(bytes.into()),
        }
    }

    /// A key from base64.
    ///
    /// # Errors
    /// `BadKey` unless it decodes to exactly 32 bytes.
    pub fn from_base64(encoded: &str) -> Result<Self, VaultError> {
        let bytes = STANDARD
            .decode(encoded.trim())
            .map_err(|_| VaultError::BadKey)?;
        let bytes: [u8; 32] = bytes.try_into().map_err(|_| VaultError::BadKey)?;
        Ok(Self::from_bytes(&bytes))
    }

    /// The key's id.
    pub fn id(&self) -> &str {
        &self.id
    }
}

/// The current key (which seals) and older ones (which only open).
#[derive(Debug, Clone)]
pub struct Vault {
    current: MasterKey,
    previous: Vec<MasterKey>,
}

/// One sealed row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    /// The key's id.
    pub key_id: String,
    /// 96-bit random nonce.
    pub nonce: Vec<u8>,
    /// Ciphertext with its tag.
    pub ciphertext: Vec<u8>,
}

impl Vault {
    /// A vault sealing with `current`, also opening with `previous`.
    pub fn new(current: MasterKey, previous: Vec<MasterKey>) -> Self {
        Self { current, previous }
    }

    /// Encrypts `credentials` for configuration `config_id`.
    pub fn seal(&self, config_id: Uuid, credentials: &Credentials) -> Sealed {
        let mut nonce = [0u8; 12];
        rand::thread_rng().fill_bytes(&mut nonce);
        let plaintext = serde_json::to_vec(credentials).unwrap_or_default();
        let ciphertext = self
            .current
            .cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: &plaintext,
                    aad: config_id.as_bytes(),
                },
            )
            .unwrap_or_default();
        Sealed {
            key_id: self.current.id.clone(),
            nonce: nonce.to_vec(),
            ciphertext,
        }
    }

    /// Decrypts a row of configuration `config_id`.
    ///
    /// # Errors
    /// `UnknownKey` or `Tampered`.
    pub fn open(&self, config_id: Uuid, sealed: &Sealed) -> Result<Credentials, VaultError> {
        let key = std::iter::once(&self.current)
            .chain(&self.previous)
            .find(|k| k.id == sealed.key_id)
            .ok_or_else(|| VaultError::UnknownKey(sealed.key_id.clone()))?;
        if sealed.nonce.len() != 12 {
            return Err(VaultError::Tampered);
        }
        let plaintext = key
            .cipher
            .decrypt(
                Nonce::from_slice(&sealed.nonce),
                Payload {
                    msg: &sealed.ciphertext,
                    aad: config_id.as_bytes(),
                },
            )
            .map_err(|_| VaultError::Tampered)?;
        serde_json::from_slice(&plaintext).map_err(|_| VaultError::Tampered)
    }

    /// Stores `credentials` of `config_id`, sealed with the current key.
    ///
    /// # Errors
    /// When the database fails.
    pub async fn store(
        &self,
        pool: &PgPool,
        config_id: Uuid,
        credentials: &Credentials,
    ) -> Result<(), VaultError> {
        let sealed = self.seal(config_id, credentials);
        sqlx::query!(
            r#"INSERT INTO integration_credentials (config_id, key_id, nonce, ciphertext)
               VALUES ($1, $2, $3, $4)
               ON CONFLICT (config_id) DO UPDATE SET key_id = $2, nonce = $3, ciphertext = $4, updated_at = now()"#,
            config_id,
            sealed.key_id,
            sealed.nonce,
            sealed.ciphertext
        )
        .execute(pool)
        .await?;
        Ok(())
    }

    /// The credentials of `config_id` (empty if none were stored).
    ///
    /// # Errors
    /// When the database fails or the row does not open.
    pub async fn load(&self, pool: &PgPool, config_id: Uuid) -> Result<Credentials, VaultError> {
        let row = sqlx::query_as!(
            Sealed,
            "SELECT key_id, nonce, ciphertext FROM integration_credentials WHERE config_id = $1",
            config_id
        )
        .fetch_optional(pool)
        .await?;
        match row {
            Some(sealed) => self.open(config_id, &sealed),
            None => Ok(Credentials::new()),
        }
    }

    /// Removes the credentials of `config_id`.
    ///
    /// # Errors
    /// When the database fails.
    pub async fn forget(&self, pool: &PgPool, config_id: Uuid) -> Result<(), VaultError> {
        sqlx::query!(
            "DELETE FROM integration_credentials WHERE config_id = $1",
            config_id
        )
        .execute(pool)
        .await?;
        Ok(())
    }

    /// Re-seals every row not under the current key; returns how many.
    ///
    /// # Errors
    /// When the database fails or a row does not open with any known key.
    pub async fn rotate(&self, pool: &PgPool) -> Result<u64, VaultError> {
        let stale = sqlx::query_scalar!(
            "SELECT config_id FROM integration_credentials WHERE key_id <> $1",
            self.current.id
        )
        .fetch_all(pool)
        .await?;
        let mut rotated = 0;
        for config_id in stale {
            let credentials = self.load(pool, config_id).await?;
            self.store(pool, config_id, &credentials).await?;
            rotated += 1;
        }
        Ok(rotated)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vault(byte: u8) -> Vault {
        Vault::new(MasterKey::from_bytes(&[byte; 32]), vec![])
    }

    fn secrets() -> Credentials {
        Credentials::from([("secret_key".to_string(), "sk_test_51abcdef4242".to_string())])
    }

    #[test]
    fn sealed_credentials_open_only_for_their_row_and_key() {
        let id = Uuid::now_v7();
        let sealed = vault(1).seal(id, &secrets());
        assert!(!String::from_utf8_lossy(&sealed.ciphertext).contains("sk_test"));
        assert_eq!(vault(1).open(id, &sealed).unwrap(), secrets());
        assert!(matches!(
            vault(1).open(Uuid::now_v7(), &sealed),
            Err(VaultError::Tampered)
        ));
        assert!(matches!(
            vault(2).open(id, &sealed),
            Err(VaultError::UnknownKey(_))
        ));
        let mut tampered = sealed.clone();
        tampered.ciphertext[0] ^= 1;
        assert!(matches!(
            vault(1).open(id, &tampered),
            Err(VaultError::Tampered)
        ));
    }

    #[test]
    fn a_rotated_vault_still_opens_rows_sealed_under_the_previous_key() {
        let id = Uuid::now_v7();
        let old = MasterKey::from_bytes(&[1; 32]);
        let sealed = Vault::new(old.clone(), vec![]).seal(id, &secrets());
        let rotated = Vault::new(MasterKey::from_bytes(&[2; 32]), vec![old]);
        assert_eq!(rotated.open(id, &sealed).unwrap(), secrets());
        assert_ne!(rotated.seal(id, &secrets()).key_id, sealed.key_id);
    }

    #[test]
    fn keys_are_32_bytes_of_base64() {
        assert!(MasterKey::from_base64(&STANDARD.encode([7u8; 32])).is_ok());
        assert!(matches!(
            MasterKey::from_base64(&STANDARD.encode([7u8; 31])),
            Err(VaultError::BadKey)
        ));
        assert!(matches!(
            MasterKey::from_base64("not base64!"),
            Err(VaultError::BadKey)
        ));
    }
}
