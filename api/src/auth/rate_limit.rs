//! A per-client token bucket for the auth endpoints, so password spraying
//! across many accounts from one address is slowed as well.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Buckets by client key (IP).
pub struct RateLimiter {
    capacity: f64,
    refill_per_sec: f64,
    buckets: Mutex<HashMap<String, Bucket>>,
}

struct Bucket {
    tokens: f64,
    updated: Instant,
}

/// Most buckets kept before idle ones are swept.
const SWEEP_AT: usize = 10_000;

impl RateLimiter {
    /// `per_minute` requests per minute, bursting up to `per_minute`.
    pub fn per_minute(per_minute: u32) -> Self {
        let capacity = f64::from(per_minute.max(1));
        Self {
            capacity,
            refill_per_sec: capacity / 60.0,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes a token for `key`; `Err(retry_after)` when none is left.
    ///
    /// # Errors
    /// How long until a token is available.
    pub fn check(&self, key: &str) -> Result<(), Duration> {
        self.check_at(key, Instant::now())
    }

    /// How long until `key` has a token again, if it has none now (nothing
    /// is taken).
    pub fn exhausted(&self, key: &str) -> Option<Duration> {
        let buckets = self.buckets.lock().expect("rate limiter lock poisoned");
        let bucket = buckets.get(key)?;
        let elapsed = Instant::now().duration_since(bucket.updated).as_secs_f64();
        let tokens = (bucket.tokens + elapsed * self.refill_per_sec).min(self.capacity);
        (tokens < 1.0)
            .then(|| Duration::from_secs_f64(((1.0 - tokens) / self.refill_per_sec).max(1.0)))
    }

    fn check_at(&self, key: &str, now: Instant) -> Result<(), Duration> {
        let mut buckets = self.buckets.lock().expect("rate limiter lock poisoned");
        if buckets.len() >= SWEEP_AT {
            let capacity = self.capacity;
            let refill = self.refill_per_sec;
            buckets.retain(|_, b| {
                b.tokens + now.duration_since(b.updated).as_secs_f64() * refill < capacity
            });
        }
        let bucket = buckets.entry(key.to_string()).or_insert(Bucket {
            tokens: self.capacity,
            updated: now,
        });
        let elapsed = now.duration_since(bucket.updated).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * self.refill_per_sec).min(self.capacity);
        bucket.updated = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            let wait = (1.0 - bucket.tokens) / self.refill_per_sec;
            Err(Duration::from_secs_f64(wait.max(1.0)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_beyond_the_limit_is_refused_then_refills() {
        let limiter = RateLimiter::per_minute(3);
        let start = Instant::now();
        for _ in 0..3 {
            assert!(limiter.check_at("10.0.0.1", start).is_ok());
        }
        let retry = limiter.check_at("10.0.0.1", start).unwrap_err();
        assert_eq!(retry.as_secs(), 20);
        assert!(
            limiter.check_at("10.0.0.2", start).is_ok(),
            "other clients are unaffected"
        );
        assert!(limiter
            .check_at("10.0.0.1", start + Duration::from_secs(20))
            .is_ok());
    }
}
