//! Redaction: what the integration log, error messages and log lines may
//! show of a provider call. Every credential value of the configuration is
//! replaced wherever it appears, and fields that carry secrets by nature
//! (passwords, tokens, keys, signatures' inputs) are replaced by name, so a
//! secret derived from a credential (M-Pesa's STK `Password`, an OAuth
//! token) never shows either.

use serde_json::Value;

/// What stands in for a secret.
pub const REDACTED: &str = "[redacted]";

/// Field names whose values are secret whatever they hold.
const SECRET_FIELDS: [&str; 14] = [
    "password",
    "passkey",
    "securitycredential",
    "access_token",
    "secret",
    "secret_key",
    "secret_hash",
    "api_key",
    "apikey",
    "auth_token",
    "authorization",
    "token",
    "client_secret",
    "initiator_password",
];

/// Whether a field called `name` holds a secret.
pub fn is_secret_field(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    SECRET_FIELDS.contains(&name.as_str())
}

/// The values to redact wherever they appear (too-short values would
/// redact ordinary text and are left out: no real secret is that short).
#[derive(Debug, Clone, Default)]
pub struct Secrets(Vec<String>);

impl Secrets {
    /// Secrets from these values.
    pub fn new<'a>(values: impl IntoIterator<Item = &'a str>) -> Self {
        let mut values: Vec<String> = values
            .into_iter()
            .filter(|v| v.len() >= 6)
            .map(str::to_string)
            .collect();
        // Longest first, so a secret containing another is replaced whole.
        values.sort_by_key(|v| std::cmp::Reverse(v.len()));
        Self(values)
    }

    /// `text` with every secret replaced.
    pub fn text(&self, text: &str) -> String {
        self.0.iter().fold(text.to_string(), |acc, secret| {
            acc.replace(secret, REDACTED)
        })
    }

    /// `value` with secret fields and every secret value replaced.
    pub fn json(&self, value: &Value) -> Value {
        match value {
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(key, v)| {
                        let v = if is_secret_field(key) && !v.is_null() {
                            Value::String(REDACTED.into())
                        } else {
                            self.json(v)
                        };
                        (key.clone(), v)
                    })
                    .collect(),
            ),
            Value::Array(items) => Value::Array(items.iter().map(|v| self.json(v)).collect()),
            Value::String(s) => Value::String(self.text(s)),
            other => other.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn secret_values_and_secret_fields_are_replaced_everywhere() {
        let secrets = Secrets::new(["sk_test_abcdef123456", "short"]);
        let body = json!({
            "note": "key sk_test_abcdef123456 leaked",
            "nested": [{"Password": "MTc0Mzc5", "amount": 1}],
            "access_token": "SGWcJPtNtYNPGm6uSYR9yPYrAI3Bm",
            "short": "short"
        });
        assert_eq!(
            secrets.json(&body),
            json!({
                "note": "key [redacted] leaked",
                "nested": [{"Password": "[redacted]", "amount": 1}],
                "access_token": "[redacted]",
                "short": "short"
            })
        );
        assert_eq!(
            secrets.text("Bearer sk_test_abcdef123456"),
            "Bearer [redacted]"
        );
    }
}
