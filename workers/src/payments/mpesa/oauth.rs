//! Daraja's OAuth tokens, cached per configuration and consumer key until
//! shortly before they expire (an hour), so a payment costs one call, not
//! two. Shared by every M-Pesa adapter the worker builds.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use uuid::Uuid;

/// Tokens are renewed this long before Daraja says they expire.
const MARGIN: Duration = Duration::from_secs(60);

/// The token cache.
#[derive(Default)]
pub struct TokenCache {
    tokens: Mutex<HashMap<(Uuid, String), (String, Instant)>>,
}

impl TokenCache {
    /// A live token for `config` and `consumer_key`.
    pub fn get(&self, config: Uuid, consumer_key: &str) -> Option<String> {
        let tokens = self.tokens.lock().ok()?;
        let (token, expires) = tokens.get(&(config, consumer_key.to_string()))?;
        (Instant::now() + MARGIN < *expires).then(|| token.clone())
    }

    /// Keeps `token`, valid for `expires_in`.
    pub fn put(&self, config: Uuid, consumer_key: &str, token: &str, expires_in: Duration) {
        if let Ok(mut tokens) = self.tokens.lock() {
            tokens.insert(
                (config, consumer_key.to_string()),
                (token.to_string(), Instant::now() + expires_in),
            );
        }
    }

    /// Drops the token Daraja refused.
    pub fn forget(&self, config: Uuid, consumer_key: &str) {
        if let Ok(mut tokens) = self.tokens.lock() {
            tokens.remove(&(config, consumer_key.to_string()));
        }
    }
}

/// `expires_in` as Daraja sends it: a string (`"3599"`) or a number.
pub fn expires_in(value: &serde_json::Value) -> Duration {
    let seconds = value
        .as_u64()
        .or_else(|| value.as_str().and_then(|s| s.trim().parse().ok()))
        .unwrap_or(3599);
    Duration::from_secs(seconds)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_live_until_a_minute_before_expiry_and_can_be_forgotten() {
        let cache = TokenCache::default();
        let config = Uuid::from_u128(1);
        cache.put(config, "key", "tok", Duration::from_secs(3599));
        assert_eq!(cache.get(config, "key").as_deref(), Some("tok"));
        assert_eq!(cache.get(config, "other-key"), None);
        cache.put(config, "key", "old", Duration::from_secs(30));
        assert_eq!(cache.get(config, "key"), None);
        cache.put(config, "key", "tok", Duration::from_secs(3599));
        cache.forget(config, "key");
        assert_eq!(cache.get(config, "key"), None);
        assert_eq!(expires_in(&serde_json::json!("3599")).as_secs(), 3599);
        assert_eq!(expires_in(&serde_json::json!(120)).as_secs(), 120);
    }
}
