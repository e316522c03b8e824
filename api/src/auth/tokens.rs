//! Access tokens (HS256 JWT) and opaque refresh tokens.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::Utc;
use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::time::Duration;
use uuid::Uuid;

/// The claims of an access token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    /// The user's id.
    pub sub: Uuid,
    /// The user's role when the token was issued.
    pub role: String,
    /// Issued at (seconds since the epoch).
    pub iat: i64,
    /// Expires at (seconds since the epoch).
    pub exp: i64,
    /// Token id.
    pub jti: Uuid,
    /// The session (refresh-token family) it was issued for; the token
    /// works only while that session is live.
    pub sid: Uuid,
}

/// Signs an access token for `user_id` with `role` in session `sid`, valid
/// for `ttl`.
///
/// # Errors
/// Only if signing fails.
pub fn issue_access_token(
    secret: &SecretString,
    user_id: Uuid,
    role: &str,
    sid: Uuid,
    ttl: Duration,
) -> Result<String, jsonwebtoken::errors::Error> {
    let now = Utc::now().timestamp();
    let claims = Claims {
        sub: user_id,
        role: role.to_string(),
        iat: now,
        exp: now + ttl.as_secs() as i64,
        jti: Uuid::new_v4(),
        sid,
    };
    encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(secret.expose_secret().as_bytes()),
    )
}

/// Verifies an access token's signature and expiry (no leeway).
///
/// # Errors
/// When the token is malformed, forged or expired.
pub fn verify_access_token(
    secret: &SecretString,
    token: &str,
) -> Result<Claims, jsonwebtoken::errors::Error> {
    let mut validation = Validation::new(Algorithm::HS256);
    validation.leeway = 0;
    validation.set_required_spec_claims(&["exp", "sub"]);
    decode::<Claims>(
        token,
        &DecodingKey::from_secret(secret.expose_secret().as_bytes()),
        &validation,
    )
    .map(|data| data.claims)
}

/// A new random refresh token (256 bits, URL-safe).
pub fn new_refresh_token() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The stored form of a refresh token.
pub fn hash_refresh_token(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret() -> SecretString {
        SecretString::from("0123456789abcdef0123456789abcdef")
    }

    #[test]
    fn a_token_round_trips() {
        let id = Uuid::new_v4();
        let token =
            issue_access_token(&secret(), id, "staff", Uuid::nil(), Duration::from_secs(60))
                .unwrap();
        let claims = verify_access_token(&secret(), &token).unwrap();
        assert_eq!(claims.sub, id);
        assert_eq!(claims.role, "staff");
    }

    #[test]
    fn a_token_signed_with_another_key_is_refused() {
        let other = SecretString::from("another-secret-another-secret-xx");
        let token = issue_access_token(
            &other,
            Uuid::new_v4(),
            "admin",
            Uuid::nil(),
            Duration::from_secs(60),
        )
        .unwrap();
        assert!(verify_access_token(&secret(), &token).is_err());
    }

    #[test]
    fn an_expired_token_is_refused() {
        let now = Utc::now().timestamp();
        let signed = |exp: i64| {
            let claims = Claims {
                sub: Uuid::new_v4(),
                role: "admin".into(),
                iat: now - 900,
                exp,
                jti: Uuid::new_v4(),
                sid: Uuid::nil(),
            };
            let key = EncodingKey::from_secret(secret().expose_secret().as_bytes());
            encode(&Header::new(Algorithm::HS256), &claims, &key).unwrap()
        };
        assert!(verify_access_token(&secret(), &signed(now - 1)).is_err());
        assert!(verify_access_token(&secret(), &signed(now + 60)).is_ok());
    }
}
