//! ISO 4217 currencies and their minor units.
//!
//! Only currencies in this table are accepted; adding one is a one-line change.

use serde::{Deserialize, Serialize};

/// (code, minor units) for the currencies ifinsure accepts.
const CURRENCIES: &[(&str, u32)] = &[
    // East Africa first.
    ("KES", 2),
    ("UGX", 0),
    ("TZS", 2),
    ("RWF", 0),
    ("BIF", 0),
    ("ETB", 2),
    ("SOS", 2),
    ("SSP", 2),
    ("CDF", 2),
    // The rest of Africa.
    ("NGN", 2),
    ("GHS", 2),
    ("ZAR", 2),
    ("EGP", 2),
    ("MAD", 2),
    ("XOF", 0),
    ("XAF", 0),
    ("ZMW", 2),
    ("MWK", 2),
    ("MZN", 2),
    ("BWP", 2),
    ("NAD", 2),
    ("TND", 3),
    ("DZD", 2),
    // Major world currencies.
    ("USD", 2),
    ("EUR", 2),
    ("GBP", 2),
    ("CHF", 2),
    ("JPY", 0),
    ("CNY", 2),
    ("INR", 2),
    ("AED", 2),
    ("SAR", 2),
    ("CAD", 2),
    ("AUD", 2),
    ("BHD", 3),
    ("KWD", 3),
    ("OMR", 3),
];

/// An ISO 4217 currency that ifinsure accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(into = "String")]
pub struct Currency {
    code: &'static str,
    minor_units: u32,
}

impl Currency {
    /// Kenyan shilling.
    pub const KES: Currency = Currency {
        code: "KES",
        minor_units: 2,
    };
    /// US dollar.
    pub const USD: Currency = Currency {
        code: "USD",
        minor_units: 2,
    };

    /// Looks a currency up by its ISO 4217 code (upper case).
    ///
    /// # Errors
    /// A message for the client when the code is not a supported ISO 4217 code.
    pub fn parse(code: &str) -> Result<Self, String> {
        CURRENCIES
            .iter()
            .find(|(c, _)| *c == code)
            .map(|&(code, minor_units)| Currency { code, minor_units })
            .ok_or_else(|| format!("`{code}` is not a supported ISO 4217 currency code"))
    }

    /// The three-letter code.
    pub fn code(&self) -> &'static str {
        self.code
    }

    /// Digits after the decimal point (2 for KES, 0 for UGX, 3 for BHD).
    pub fn minor_units(&self) -> u32 {
        self.minor_units
    }
}

impl std::fmt::Display for Currency {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code)
    }
}

impl TryFrom<String> for Currency {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let code = String::deserialize(deserializer)?;
        Currency::parse(&code).map_err(serde::de::Error::custom)
    }
}

impl From<Currency> for String {
    fn from(value: Currency) -> Self {
        value.code.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minor_units_follow_iso_4217() {
        assert_eq!(Currency::parse("KES").unwrap().minor_units(), 2);
        assert_eq!(Currency::parse("UGX").unwrap().minor_units(), 0);
        assert_eq!(Currency::parse("BHD").unwrap().minor_units(), 3);
    }

    #[test]
    fn unknown_and_lower_case_codes_are_refused() {
        assert!(Currency::parse("XYZ").is_err());
        assert!(Currency::parse("kes").is_err());
    }
}
