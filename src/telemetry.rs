//! Logging: `RUST_LOG` filters, `LOG_FORMAT` picks `json` (production) or
//! `pretty` (a person at a terminal; the default when stdout is a terminal).

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber. Call once, at start.
pub fn init() {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=warn"));
    let format = std::env::var("LOG_FORMAT").unwrap_or_else(|_| {
        if std::io::stdout().is_terminal() {
            "pretty".into()
        } else {
            "json".into()
        }
    });
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    if format == "json" {
        builder
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .init();
    } else {
        builder.compact().init();
    }
}
