//! Password hashing (argon2id) and the password policy.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use std::collections::HashSet;
use std::sync::OnceLock;

/// Shortest password accepted.
pub const MIN_LENGTH: usize = 12;
/// Longest password accepted (hashing cost is linear in length).
pub const MAX_LENGTH: usize = 256;

static COMMON: OnceLock<HashSet<&'static str>> = OnceLock::new();

fn common_passwords() -> &'static HashSet<&'static str> {
    COMMON.get_or_init(|| {
        include_str!("common_passwords.txt")
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .collect()
    })
}

/// Checks the policy: `min_length` (never under 12) to 256 characters, not
/// a common password, not the email address, not one repeated character.
///
/// # Errors
/// A message for the client.
pub fn check_policy(password: &str, email: &str, min_length: u32) -> Result<(), String> {
    let length = password.chars().count();
    let min_length = usize::try_from(min_length)
        .unwrap_or(MIN_LENGTH)
        .max(MIN_LENGTH);
    if length < min_length {
        return Err(format!("must be at least {min_length} characters"));
    }
    if length > MAX_LENGTH {
        return Err(format!("must be at most {MAX_LENGTH} characters"));
    }
    let lower = password.to_lowercase();
    if common_passwords().contains(lower.as_str()) {
        return Err("is too common; choose a less guessable password".into());
    }
    if !email.is_empty() && lower == email.to_lowercase() {
        return Err("must not be your email address".into());
    }
    let first = lower.chars().next();
    if lower.chars().all(|c| Some(c) == first) {
        return Err("must not be one character repeated".into());
    }
    Ok(())
}

/// Hashes a password with argon2id and a random salt (PHC string).
///
/// # Errors
/// Only if the hasher fails (it does not for valid parameters).
pub fn hash(password: &str) -> Result<String, argon2::password_hash::Error> {
    let salt = SaltString::generate(&mut OsRng);
    Ok(Argon2::default()
        .hash_password(password.as_bytes(), &salt)?
        .to_string())
}

/// Whether `password` matches the PHC `hash`.
pub fn verify(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A valid hash of a random password, verified against when the account does
/// not exist so that timing does not reveal which emails are registered.
pub fn decoy_hash() -> &'static str {
    static DECOY: OnceLock<String> = OnceLock::new();
    DECOY.get_or_init(|| {
        let random = uuid::Uuid::new_v4().to_string();
        hash(&random).expect("hashing a random password")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_common_and_trivial_passwords_are_refused() {
        assert!(check_policy("short", "a@b.co", 12).is_err());
        assert!(check_policy("password1234", "a@b.co", 12).is_err());
        assert!(check_policy("Password1234", "a@b.co", 12).is_err());
        assert!(check_policy("aaaaaaaaaaaaaa", "a@b.co", 12).is_err());
        assert!(check_policy("amina@example.com", "amina@example.com", 12).is_err());
    }

    #[test]
    fn a_long_uncommon_password_is_accepted() {
        assert!(check_policy("kilimanjaro sunrise 42", "a@b.co", 12).is_ok());
        // A longer minimum saved in the settings; never one under 12.
        assert_eq!(
            check_policy("kilimanjaro sunrise 42", "a@b.co", 30),
            Err("must be at least 30 characters".into())
        );
        assert!(check_policy("kilimanjaro 42", "a@b.co", 4).is_ok());
        assert!(check_policy("kilimanjaro", "a@b.co", 4).is_err());
    }

    #[test]
    fn hashes_verify_only_the_right_password() {
        let h = hash("correct horse battery").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify("correct horse battery", &h));
        assert!(!verify("wrong horse battery", &h));
        assert!(!verify("anything", "not a hash"));
    }
}
