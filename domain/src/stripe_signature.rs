//! Stripe's webhook signature scheme, used by Stripe (`Stripe-Signature`)
//! and by the built-in sandbox (`Sandbox-Signature`).
//!
//! The header is `t=<unix seconds>,v1=<hex>[,v1=<hex>...]` where each hex is
//! HMAC-SHA256 of `"{t}.{raw body}"` under the endpoint secret. A receiver
//! accepts when any `v1` matches (compared in constant time) and `t` is no
//! older than its tolerance (Stripe's default: 300 s).

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Why a signature was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// The header is missing or malformed.
    #[error("unable to extract timestamp and signatures from header")]
    Malformed,
    /// No `v1` signature in the header.
    #[error("no signatures found with expected scheme v1")]
    NoSignatures,
    /// None matched.
    #[error("no signatures found matching the expected signature for payload")]
    Mismatch,
    /// Too old.
    #[error("timestamp outside the tolerance zone")]
    Expired,
}

fn mac(secret: &[u8], timestamp: i64, body: &[u8]) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// The header value signing `body` at `timestamp`.
pub fn sign(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    let tag = mac(secret, timestamp, body).finalize().into_bytes();
    format!("t={timestamp},v1={}", crate::signatures::hex(&tag))
}

/// Checks `header` against `body`, at time `now`, accepting timestamps up to
/// `tolerance_secs` old.
///
/// # Errors
/// See [`SignatureError`].
pub fn verify(
    secret: &[u8],
    header: &str,
    body: &[u8],
    now: i64,
    tolerance_secs: i64,
) -> Result<(), SignatureError> {
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", t)) => timestamp = t.parse::<i64>().ok(),
            Some(("v1", s)) => signatures.push(s),
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or(SignatureError::Malformed)?;
    if signatures.is_empty() {
        return Err(SignatureError::NoSignatures);
    }
    let expected = mac(secret, timestamp, body);
    let matched = signatures
        .iter()
        .any(|s| decode_hex(s).is_some_and(|bytes| expected.clone().verify_slice(&bytes).is_ok()));
    if !matched {
        return Err(SignatureError::Mismatch);
    }
    if timestamp < now - tolerance_secs {
        return Err(SignatureError::Expired);
    }
    Ok(())
}

fn decode_hex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_like_stripe() {
        // The documented algorithm on PROVIDERS.md's computed vector.
        let header = sign(
            b"whsec_test_secret",
            1_700_000_000,
            br#"{"id":"evt_test_webhook","object":"event"}"#,
        );
        assert_eq!(
            header,
            "t=1700000000,v1=d95c6b7477fbd7e9f90b1b0ef5f9c7ac25abca5382460e0d988c2b2a5b71b990"
        );
    }

    #[test]
    fn accepts_any_matching_v1_within_tolerance() {
        let body = b"{}";
        let good = sign(b"secret", 1000, body);
        let rotated = format!("t=1000,v1=00ff,{}", &good[7..]);
        assert_eq!(verify(b"secret", &good, body, 1200, 300), Ok(()));
        assert_eq!(verify(b"secret", &rotated, body, 1200, 300), Ok(()));
    }

    #[test]
    fn refuses_wrong_secret_tampered_body_old_timestamp_and_garbage() {
        let header = sign(b"secret", 1000, b"{}");
        assert_eq!(
            verify(b"other", &header, b"{}", 1000, 300),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(b"secret", &header, b"{ }", 1000, 300),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(b"secret", &header, b"{}", 1301, 300),
            Err(SignatureError::Expired)
        );
        assert_eq!(
            verify(b"secret", "nonsense", b"{}", 1000, 300),
            Err(SignatureError::Malformed)
        );
        assert_eq!(
            verify(b"secret", "t=1000", b"{}", 1000, 300),
            Err(SignatureError::NoSignatures)
        );
    }
}
