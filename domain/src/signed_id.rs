//! Ids signed for one purpose, for links that work without a login:
//! `base64url(id ‖ first 16 bytes of HMAC-SHA256(secret, purpose ‖ id))`.
//! Nothing is stored: whoever makes the link and whoever checks it
//! recompute the tag from the id and a server secret. The purpose keeps a
//! token made for one use (a password reset) from working for another (an
//! unsubscribe link).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use uuid::Uuid;

use crate::signatures::constant_time_eq;

fn tag(secret: &[u8], purpose: &str, id: Uuid) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(purpose.as_bytes());
    mac.update(b":");
    mac.update(id.as_bytes());
    mac.finalize().into_bytes()[..16].to_vec()
}

/// The token of `id` for `purpose`.
pub fn sign(secret: &[u8], purpose: &str, id: Uuid) -> String {
    let mut bytes = id.as_bytes().to_vec();
    bytes.extend(tag(secret, purpose, id));
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The id `token` was made for, if it was made with `secret` for `purpose`.
pub fn verify(secret: &[u8], purpose: &str, token: &str) -> Option<Uuid> {
    let bytes = URL_SAFE_NO_PAD.decode(token.trim()).ok()?;
    if bytes.len() != 32 {
        return None;
    }
    let id = Uuid::from_slice(&bytes[..16]).ok()?;
    constant_time_eq(&bytes[16..], &tag(secret, purpose, id)).then_some(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_names_its_id_only_under_its_secret_and_purpose() {
        let id = Uuid::from_u128(42);
        let token = sign(b"secret-one", "unsubscribe", id);
        assert_eq!(token.len(), 43);
        assert_eq!(verify(b"secret-one", "unsubscribe", &token), Some(id));
        assert_eq!(verify(b"secret-two", "unsubscribe", &token), None);
        assert_eq!(verify(b"secret-one", "password-reset", &token), None);
        let mut forged = token.clone().into_bytes();
        forged[40] = if forged[40] == b'A' { b'B' } else { b'A' };
        let forged = String::from_utf8(forged).unwrap();
        assert_eq!(verify(b"secret-one", "unsubscribe", &forged), None);
        assert_eq!(verify(b"secret-one", "unsubscribe", "not a token"), None);
    }
}
