//! Password-reset tokens: the request id signed for `password-reset`
//! ([`crate::signed_id`]). The token is derived, never stored: the worker that emails it and the API that checks
//! it both recompute it from the request id and a server secret, and the
//! request's row (expiry, single use) is what makes it valid.

use uuid::Uuid;

use crate::signed_id;

/// How long a reset token works.
pub const VALID_MINUTES: i64 = 30;

/// What the tokens are signed for.
const PURPOSE: &str = "password-reset";

/// The token of reset request `request_id`.
pub fn token(secret: &[u8], request_id: Uuid) -> String {
    signed_id::sign(secret, PURPOSE, request_id)
}

/// The request a token was made for, if it was made with `secret`.
pub fn request_of(secret: &[u8], token: &str) -> Option<Uuid> {
    signed_id::verify(secret, PURPOSE, token)
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
