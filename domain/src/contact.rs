//! Validated contact details: parsed once, never passed around as raw strings.

use serde::{Deserialize, Serialize};

/// A syntactically plausible, lower-cased email address.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct EmailAddress(String);

impl EmailAddress {
    /// Parses and normalises (trims, lower-cases) an email address.
    ///
    /// # Errors
    /// A message for the client when the address is not plausible.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let email = raw.trim().to_lowercase();
        let Some((local, domain)) = email.split_once('@') else {
            return Err("must be an email address like name@example.com".into());
        };
        let plausible = !local.is_empty()
            && local.len() <= 64
            && email.len() <= 254
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains('@')
            && !email.chars().any(|c| c.is_whitespace() || c.is_control());
        if plausible {
            Ok(Self(email))
        } else {
            Err("must be an email address like name@example.com".into())
        }
    }

    /// The address as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for EmailAddress {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<EmailAddress> for String {
    fn from(value: EmailAddress) -> Self {
        value.0
    }
}

/// A phone number in E.164 form (`+254712345678`). Kenyan local forms
/// (`0712345678`, `254712345678`) are accepted and normalised, since M-Pesa
/// customers write them that way.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PhoneNumber(String);

impl PhoneNumber {
    /// Parses and normalises a phone number to E.164.
    ///
    /// # Errors
    /// A message for the client when it is not a phone number.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let compact: String = raw
            .trim()
            .chars()
            .filter(|c| !matches!(c, ' ' | '-' | '(' | ')'))
            .collect();
        let digits = if let Some(rest) = compact.strip_prefix('+') {
            rest.to_string()
        } else if compact.len() == 10 && compact.starts_with('0') {
            format!("254{}", &compact[1..])
        } else {
            compact
        };
        let ok = (8..=15).contains(&digits.len())
            && digits.chars().all(|c| c.is_ascii_digit())
            && !digits.starts_with('0');
        if ok {
            Ok(Self(format!("+{digits}")))
        } else {
            Err("must be a phone number in international form, like +254712345678".into())
        }
    }

    /// The number in E.164 form.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for PhoneNumber {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<PhoneNumber> for String {
    fn from(value: PhoneNumber) -> Self {
        value.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_trimmed_and_lower_cased() {
        assert_eq!(
            EmailAddress::parse("  Wanjiru@Example.CO.KE ")
                .unwrap()
                .as_str(),
            "wanjiru@example.co.ke"
        );
    }

    #[test]
    fn implausible_emails_are_refused() {
        for bad in [
            "",
            "no-at-sign",
            "@example.com",
            "a@b",
            "a@.com",
            "a b@c.com",
        ] {
            assert!(EmailAddress::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn kenyan_local_numbers_become_e164() {
        assert_eq!(
            PhoneNumber::parse("0712 345 678").unwrap().as_str(),
            "+254712345678"
        );
        assert_eq!(
            PhoneNumber::parse("254712345678").unwrap().as_str(),
            "+254712345678"
        );
        assert_eq!(
            PhoneNumber::parse("+1 (415) 555-0100").unwrap().as_str(),
            "+14155550100"
        );
    }

    #[test]
    fn non_numbers_are_refused() {
        for bad in ["", "12", "+abc", "call me"] {
            assert!(PhoneNumber::parse(bad).is_err(), "{bad}");
        }
    }
}
