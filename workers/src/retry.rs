//! How long a worker waits before trying a failed job again: exponential
//! backoff with jitter, so many jobs failing at once (a provider outage) do
//! not all come back at the same moment.

use std::time::Duration;

use rand::Rng;

/// Failures in a row on one event before a worker's subscription gives up
/// on it (a dead letter) and moves on.
pub const EVENT_ATTEMPTS: u32 = 5;

/// The wait before attempt `attempts + 1`: `base` × 2^attempts, at most
/// `cap`, plus up to a quarter more at random.
pub fn backoff(attempts: i32, base: Duration, cap: Duration) -> Duration {
    let wait = base
        .saturating_mul(2u32.pow(attempts.clamp(1, 20) as u32))
        .min(cap);
    let quarter = u64::try_from(wait.as_millis() / 4).unwrap_or(u64::MAX);
    wait + Duration::from_millis(rand::thread_rng().gen_range(0..=quarter))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_the_base_with_up_to_a_quarter_of_jitter_and_stops_at_the_cap() {
        let (base, cap) = (Duration::from_secs(1), Duration::from_secs(3600));
        for attempts in 1..=14 {
            let expected = Duration::from_secs(2u64.pow(attempts as u32).min(3600));
            let wait = backoff(attempts, base, cap);
            assert!(wait >= expected, "{attempts}: {wait:?}");
            assert!(wait <= expected + expected / 4, "{attempts}: {wait:?}");
        }
        assert!(backoff(2, Duration::from_millis(10), cap) < Duration::from_millis(51));
        assert!(backoff(50, base, Duration::from_secs(900)) <= Duration::from_secs(1125));
    }
}
