//! How providers authenticate what they send us, besides Stripe's scheme
//! ([`crate::stripe_signature`]): Paystack's `x-paystack-signature`,
//! Flutterwave's `verif-hash`, Twilio's `X-Twilio-Signature`, SendGrid's
//! `X-Twilio-Email-Event-Webhook-Signature`, and the constant-time
//! comparison they rest on.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha1::Sha1;
use sha2::Sha512;

/// Whether `a` and `b` are equal, in time that depends only on their
/// lengths (which are not secret).
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// `bytes` as lowercase hexadecimal.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Paystack's signature of `body`: hex HMAC-SHA512 under the secret key.
pub fn paystack_signature(secret_key: &[u8], body: &[u8]) -> String {
    let mut mac = Hmac::<Sha512>::new_from_slice(secret_key).expect("HMAC takes any key length");
    mac.update(body);
    hex(&mac.finalize().into_bytes())
}

/// Whether `header` is Paystack's signature of the raw `body`.
pub fn paystack_verify(secret_key: &[u8], header: &str, body: &[u8]) -> bool {
    let expected = paystack_signature(secret_key, body);
    constant_time_eq(
        expected.as_bytes(),
        header.trim().to_ascii_lowercase().as_bytes(),
    )
}

/// Whether Flutterwave's `verif-hash` header carries the secret hash set
/// in its dashboard (v3 sends it as is; there is no HMAC).
pub fn flutterwave_verify(secret_hash: &[u8], header: &str) -> bool {
    constant_time_eq(secret_hash, header.trim().as_bytes())
}

/// Twilio's signature of a form POST to `url` with `params`: base64
/// HMAC-SHA1 over the URL followed by each `key + value`, sorted by key
/// (and by value for repeated keys).
pub fn twilio_signature(auth_token: &[u8], url: &str, params: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    sorted.sort();
    let mut mac = Hmac::<Sha1>::new_from_slice(auth_token).expect("HMAC takes any key length");
    mac.update(url.as_bytes());
    for (key, value) in sorted {
        mac.update(key.as_bytes());
        mac.update(value.as_bytes());
    }
    STANDARD.encode(mac.finalize().into_bytes())
}

/// The URL as Twilio may have signed it: as given, and with the default
/// port added or removed (Twilio's SDKs accept either).
fn url_variants(url: &str) -> Vec<String> {
    let mut variants = vec![url.to_string()];
    for (scheme, port) in [("https://", ":443"), ("http://", ":80")] {
        let Some(rest) = url.strip_prefix(scheme) else {
            continue;
        };
        let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        if let Some(bare) = host.strip_suffix(port) {
            variants.push(format!("{scheme}{bare}{path}"));
        } else if !host.contains(':') {
            variants.push(format!("{scheme}{host}{port}{path}"));
        }
    }
    variants
}

/// Whether `header` is Twilio's signature of a form POST to `url`.
pub fn twilio_verify(
    auth_token: &[u8],
    url: &str,
    params: &[(String, String)],
    header: &str,
) -> bool {
    url_variants(url).iter().any(|candidate| {
        let expected = twilio_signature(auth_token, candidate, params);
        constant_time_eq(expected.as_bytes(), header.trim().as_bytes())
    })
}

/// The DER prefix of a P-256 public key's SubjectPublicKeyInfo (id-ecPublicKey,
/// prime256v1, then the 65-byte uncompressed point as a bit string).
const P256_SPKI_PREFIX: [u8; 26] = [
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a,
    0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
];

/// The uncompressed P-256 point of `public_key` (base64 DER
/// SubjectPublicKeyInfo), if it is one.
fn p256_point(public_key: &str) -> Option<Vec<u8>> {
    let key = STANDARD.decode(public_key.trim()).ok()?;
    let point = key.strip_prefix(&P256_SPKI_PREFIX[..])?;
    (point.len() == 65 && point[0] == 4).then(|| point.to_vec())
}

/// Whether `public_key` is a P-256 public key as SendGrid's Mail Settings
/// shows the event webhook's verification key (base64 DER
/// SubjectPublicKeyInfo).
pub fn is_p256_public_key(public_key: &str) -> bool {
    p256_point(public_key).is_some()
}

/// Whether `signature` (base64 DER ECDSA P-256/SHA-256, SendGrid's
/// `X-Twilio-Email-Event-Webhook-Signature`) signs `timestamp` (its
/// `…-Timestamp` header) followed by the raw `body`, under the event
/// webhook's verification key (base64 DER SubjectPublicKeyInfo, as Mail
/// Settings shows it).
pub fn sendgrid_verify(public_key: &str, signature: &str, timestamp: &str, body: &[u8]) -> bool {
    let (Some(point), Ok(signature)) = (p256_point(public_key), STANDARD.decode(signature.trim()))
    else {
        return false;
    };
    let mut message = timestamp.as_bytes().to_vec();
    message.extend_from_slice(body);
    ring::signature::UnparsedPublicKey::new(&ring::signature::ECDSA_P256_SHA256_ASN1, &point)
        .verify(&message, &signature)
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// sendgrid-nodejs's `eventwebhook.spec.js` vector.
    const SENDGRID_KEY: &str = "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEEDr2LjtURuePQzplybdC+u4CwrqDqBaWjcMMsTbhdbcwHBcepxo7yAQGhHPTnlvFYPAZFceEu/1FwCM/QmGUhA==";
    const SENDGRID_SIGNATURE: &str = "MEUCIQCtIHJeH93Y+qpYeWrySphQgpNGNr/U+UyUlBkU6n7RAwIgJTz2C+8a8xonZGi6BpSzoQsbVRamr2nlxFDWYNH2j/0=";
    const SENDGRID_PAYLOAD: &[u8] =
        br#"{"category":"example_payload","event":"test_event","message_id":"message_id"}"#;

    #[test]
    fn sendgrids_own_vector_verifies_and_each_change_it_rejects_does_not() {
        assert!(sendgrid_verify(
            SENDGRID_KEY,
            SENDGRID_SIGNATURE,
            "1588788367",
            SENDGRID_PAYLOAD
        ));
        // A signature of ours verifies under our key, not under theirs.
        use ring::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_ASN1_SIGNING};
        let rng = ring::rand::SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng).unwrap();
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref(), &rng)
            .unwrap();
        let ours = STANDARD.encode([&P256_SPKI_PREFIX[..], pair.public_key().as_ref()].concat());
        let signed = STANDARD.encode(pair.sign(&rng, b"1588788367payload").unwrap());
        assert!(sendgrid_verify(&ours, &signed, "1588788367", b"payload"));
        assert!(!sendgrid_verify(
            SENDGRID_KEY,
            &signed,
            "1588788367",
            b"payload"
        ));
        assert!(!sendgrid_verify(
            &ours,
            SENDGRID_SIGNATURE,
            "1588788367",
            SENDGRID_PAYLOAD
        ));
        assert!(!sendgrid_verify(
            SENDGRID_KEY,
            SENDGRID_SIGNATURE,
            "1588788367",
            b"payload"
        ));
        let mut changed = SENDGRID_SIGNATURE.to_string();
        changed.replace_range(10..11, if &changed[10..11] == "A" { "B" } else { "A" });
        assert!(!sendgrid_verify(
            SENDGRID_KEY,
            &changed,
            "1588788367",
            SENDGRID_PAYLOAD
        ));
        assert!(!sendgrid_verify(
            SENDGRID_KEY,
            SENDGRID_SIGNATURE,
            "timestamp",
            SENDGRID_PAYLOAD
        ));
        assert!(is_p256_public_key(SENDGRID_KEY) && is_p256_public_key(&ours));
        assert!(!is_p256_public_key("MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE"));
        assert!(!sendgrid_verify(
            "not base64!",
            SENDGRID_SIGNATURE,
            "1588788367",
            SENDGRID_PAYLOAD
        ));
    }

    fn twilio_params() -> Vec<(String, String)> {
        [
            ("CallSid", "CA1234567890ABCDE"),
            ("Caller", "+14158675309"),
            ("Digits", "1234"),
            ("From", "+14158675309"),
            ("To", "+18005551212"),
        ]
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .to_vec()
    }

    #[test]
    fn paystack_signs_the_raw_body_with_hmac_sha512() {
        let body = br#"{"event":"charge.success","data":{"reference":"ref_123","amount":50000,"currency":"KES","status":"success"}}"#;
        let expected = "e511fe819bade5642875bc0a6d3fa5957aea9ed095d2772e6680185af631581c59bbc6a2e684d6afc0843247f00b43ed5502ab278a21b57446a2e2a85348e7ec";
        assert_eq!(paystack_signature(b"sk_test_secret", body), expected);
        assert!(paystack_verify(b"sk_test_secret", expected, body));
        assert!(!paystack_verify(b"sk_test_other", expected, body));
        assert!(!paystack_verify(b"sk_test_secret", expected, b"{}"));
    }

    #[test]
    fn flutterwave_compares_the_secret_hash() {
        assert!(flutterwave_verify(b"my-hash", "my-hash"));
        assert!(!flutterwave_verify(b"my-hash", "my-hasH"));
        assert!(!flutterwave_verify(b"my-hash", ""));
    }

    #[test]
    fn twilio_matches_the_official_vectors() {
        let url = "https://mycompany.com/myapp.php?foo=1&bar=2";
        assert_eq!(
            twilio_signature(b"12345", url, &twilio_params()),
            "RSOYDt4T1cUTdK1PDd93/VVr8B8="
        );
        assert!(twilio_verify(
            b"12345",
            url,
            &twilio_params(),
            "RSOYDt4T1cUTdK1PDd93/VVr8B8="
        ));
        // Signed with :443 in the URL; we were called without it.
        assert!(twilio_verify(
            b"12345",
            url,
            &twilio_params(),
            "kvajT1Ptam85bY51eRf/AJRuM3w="
        ));
        assert_eq!(
            twilio_signature(
                b"12345",
                "http://mycompany.com:1234/myapp.php?foo=1&bar=2",
                &twilio_params()
            ),
            "Zmvh+3yNM1Phv2jhDCwEM3q5ebU="
        );
        let http = "http://mycompany.com/myapp.php?foo=1&bar=2";
        assert!(twilio_verify(
            b"12345",
            http,
            &twilio_params(),
            "0ZXoZLH/DfblKGATFgpif+LLRf4="
        ));
        let repeated = [
            ("Sid", "CA123"),
            ("SidAccount", "AC123"),
            ("Digits", "5678"),
            ("Digits", "1234"),
        ]
        .map(|(k, v)| (k.to_string(), v.to_string()));
        assert_eq!(
            twilio_signature(b"12345", url, &repeated),
            "IK+Dwps556ElfBT0I3Rgjkr1wJU="
        );
        assert!(!twilio_verify(
            b"54321",
            url,
            &twilio_params(),
            "RSOYDt4T1cUTdK1PDd93/VVr8B8="
        ));
    }

    #[test]
    fn comparison_needs_equal_bytes() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
    }
}
