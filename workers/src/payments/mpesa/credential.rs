//! Daraja's `SecurityCredential` for B2C payouts and reversals: the
//! initiator password encrypted with M-Pesa's public certificate (RSA,
//! PKCS#1 v1.5 padding), base64-encoded. Safaricom publishes one
//! certificate for the sandbox and one for production; the configuration
//! holds the one it needs (`settings.certificate`, PEM), or a credential
//! generated on the Daraja portal (`credentials.security_credential`).

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use rsa::pkcs8::DecodePublicKey;
use rsa::{Pkcs1v15Encrypt, RsaPublicKey};
use x509_cert::der::DecodePem;
use x509_cert::Certificate;

/// The public key in `pem`: a certificate or a bare public key.
///
/// # Errors
/// When `pem` holds neither an RSA certificate nor an RSA public key.
pub fn public_key(pem: &str) -> Result<RsaPublicKey, String> {
    if pem.contains("BEGIN CERTIFICATE") {
        let certificate =
            Certificate::from_pem(pem.trim()).map_err(|e| format!("not a certificate: {e}"))?;
        let spki = certificate.tbs_certificate.subject_public_key_info;
        let der = x509_cert::der::Encode::to_der(&spki).map_err(|e| e.to_string())?;
        RsaPublicKey::from_public_key_der(&der).map_err(|e| format!("not an RSA key: {e}"))
    } else {
        RsaPublicKey::from_public_key_pem(pem.trim()).map_err(|e| format!("not a public key: {e}"))
    }
}

/// `base64(RSA-PKCS1v15(password))` under `key`.
///
/// # Errors
/// When the password is too long for the key.
pub fn security_credential(key: &RsaPublicKey, password: &str) -> Result<String, String> {
    let mut rng = rand::thread_rng();
    let encrypted = key
        .encrypt(&mut rng, Pkcs1v15Encrypt, password.as_bytes())
        .map_err(|e| e.to_string())?;
    Ok(STANDARD.encode(encrypted))
}

#[cfg(test)]
mod tests {
    use rsa::pkcs8::{EncodePublicKey, LineEnding};
    use rsa::RsaPrivateKey;

    use super::*;

    #[test]
    fn the_credential_decrypts_to_the_initiator_password_with_the_private_key() {
        let private = RsaPrivateKey::new(&mut rand::thread_rng(), 1024).unwrap();
        let pem = private
            .to_public_key()
            .to_public_key_pem(LineEnding::LF)
            .unwrap();
        let key = public_key(&pem).unwrap();
        let credential = security_credential(&key, "Safaricom999!*!").unwrap();
        let encrypted = STANDARD.decode(credential).unwrap();
        assert_eq!(encrypted.len(), 128);
        let decrypted = private.decrypt(Pkcs1v15Encrypt, &encrypted).unwrap();
        assert_eq!(decrypted, b"Safaricom999!*!");
        assert!(
            public_key("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----").is_err()
        );
    }
}
