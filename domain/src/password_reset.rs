//! Password-reset tokens: `base64url(request id ‖ first 16 bytes of
//! HMAC-SHA256(secret, "password-reset:" ‖ request id))`. The token is
//! derived, never stored: the worker that emails it and the API that checks
//! it both recompute it from the request id and a server secret, and the
//! request's row (expiry, single use) is what makes it valid.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use uuid::Uuid;

use crate::signatures::constant_time_eq;

/// How long a reset token works.
pub const VALID_MINUTES: i64 = 30;

fn tag(secret: &[u8], request_id: Uuid) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(b"password-reset:");
    mac.update(request_id.as_bytes());
    mac.finalize().into_bytes()[..16].to_vec()
}

/// The token of reset request `request_id`.
pub fn token(secret: &[u8], request_id: Uuid) -> String {
    let mut bytes = request_id.as_bytes().to_vec();
    bytes.extend(tag(secret, request_id));
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The request a token was made for, if it was made with `secret`.
pub fn request_of(secret: &[u8], token: &str) -> Option<Uuid> {
    let bytes = URL_SAFE_NO_PAD.decode(token.trim()).ok()?;
    if bytes.len() != 32 {
        return None;
    }
    let request_id = Uuid::from_slice(&bytes[..16]).ok()?;
    constant_time_eq(&bytes[16..], &tag(secret, request_id)).then_some(request_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_names_its_request_only_under_its_secret() {
        let id = Uuid::from_u128(42);
        let token = token(b"secret-one", id);
        assert_eq!(token.len(), 43);
        assert_eq!(request_of(b"secret-one", &token), Some(id));
        assert_eq!(request_of(b"secret-two", &token), None);
        let mut forged = token.clone().into_bytes();
        forged[40] = if forged[40] == b'A' { b'B' } else { b'A' };
        assert_eq!(
            request_of(b"secret-one", &String::from_utf8(forged).unwrap()),
            None
        );
        assert_eq!(request_of(b"secret-one", "not a token"), None);
    }
}
