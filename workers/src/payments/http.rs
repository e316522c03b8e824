//! How adapters call providers: a client with timeouts, and bounded retries
//! on network errors and 5xx answers only (a 4xx is the provider's final
//! word and is never retried).

use std::time::Duration;

use super::ProviderError;

/// Attempts per call (the first and two retries).
const ATTEMPTS: u32 = 3;

/// A client with connect and request timeouts.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap_or_default()
}

/// Sends the request `build` makes, retrying network errors and 5xx with a
/// short backoff; returns the status and body of the last answer.
///
/// # Errors
/// `Unavailable` when every attempt failed on the network or with a 5xx.
pub async fn send(
    build: impl Fn() -> reqwest::RequestBuilder,
) -> Result<(reqwest::StatusCode, serde_json::Value), ProviderError> {
    let mut last = String::new();
    for attempt in 0..ATTEMPTS {
        if attempt > 0 {
            tokio::time::sleep(Duration::from_millis(200 * 2u64.pow(attempt))).await;
        }
        match build().send().await {
            Ok(response) if response.status().is_server_error() => {
                last = format!("HTTP {}", response.status());
            }
            Ok(response) => {
                let status = response.status();
                let body = response.json().await.unwrap_or(serde_json::Value::Null);
                return Ok((status, body));
            }
            Err(error) => last = error.without_url().to_string(),
        }
    }
    Err(ProviderError::Unavailable(format!(
        "no answer after {ATTEMPTS} attempts: {last}"
    )))
}
