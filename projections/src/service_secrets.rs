//! The service's own secrets in production — the keys of password-reset
//! tokens and of unsubscribe links — generated once, at random, and kept
//! sealed by the vault's master key beside the integration credentials
//! (never in the event store, never derived from another secret), so every
//! process of a deployment agrees on them and someone with the database
//! alone cannot forge either.

use rand::RngCore as _;
use secrecy::SecretString;
use sqlx::PgPool;
use uuid::Uuid;

use crate::vault::{Credentials, Vault, VaultError};

/// One of the service's secrets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServiceSecret {
    /// Signs password-reset tokens.
    PasswordReset,
    /// Signs unsubscribe links.
    Unsubscribe,
}

impl ServiceSecret {
    fn name(self) -> &'static str {
        match self {
            Self::PasswordReset => "password reset",
            Self::Unsubscribe => "unsubscribe",
        }
    }

    /// The row it is sealed under (a name-based id no configuration has).
    pub fn id(self) -> Uuid {
        Uuid::new_v5(
            &Uuid::NAMESPACE_URL,
            format!("urn:ifinsure:service-secret:{}", self.name()).as_bytes(),
        )
    }
}

const FIELD: &str = "secret";

/// The secret, generated and stored on first use (by whichever process
/// comes first; the others read that one).
///
/// # Errors
/// When the database fails or the stored secret does not open.
pub async fn load_or_create(
    pool: &PgPool,
    vault: &Vault,
    secret: ServiceSecret,
) -> Result<SecretString, VaultError> {
    let id = secret.id();
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    let fresh: Credentials = [(FIELD.to_string(), domain::signatures::hex(&bytes))].into();
    let sealed = vault.seal(id, &fresh);
    sqlx::query!(
        r#"INSERT INTO integration_credentials (config_id, key_id, nonce, ciphertext)
           VALUES ($1, $2, $3, $4) ON CONFLICT (config_id) DO NOTHING"#,
        id,
        sealed.key_id,
        sealed.nonce,
        sealed.ciphertext
    )
    .execute(pool)
    .await?;
    let stored = vault.load(pool, id).await?;
    stored
        .get(FIELD)
        .map(|s| SecretString::from(s.clone()))
        .ok_or(VaultError::Tampered)
}
