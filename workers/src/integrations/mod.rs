//! The integrations' common ground: configurations with their decrypted
//! credentials, the HTTP client every adapter calls through (timeouts,
//! bounded retries, one integration-log row per attempt), redaction, and
//! connection tests. The adapters themselves live with their category
//! (`payments`, `messaging`).

pub mod config;
pub mod connectivity;
pub mod error;
pub mod http;
pub mod log;
pub mod redact;
pub mod testing;

pub use config::ProviderConfig;
pub use error::ProviderError;
pub use http::{Answer, Auth, Call, Http};
pub use log::{CallRecorder, LogTable, Memory};
