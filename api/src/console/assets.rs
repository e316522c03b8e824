//! The console's static files, compiled into the binary and served from
//! this origin: htmx (vendored, pinned: `api/assets/README.md`), the
//! stylesheet and the console's own script; and the brand's colours from
//! the settings in force (`/brand.css`).

use axum::extract::{Path, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};

use super::errors::not_found_plain;
use crate::state::AppState;

/// `(name, content type, bytes)` of every asset.
const ASSETS: &[(&str, &str, &[u8])] = &[
    (
        "htmx-2.0.11.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/htmx-2.0.11.min.js"),
    ),
    (
        "console.css",
        "text/css; charset=utf-8",
        include_bytes!("../../assets/console.css"),
    ),
    (
        "console.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/console.js"),
    ),
];

/// `GET /assets/{name}`.
pub async fn asset(Path(name): Path<String>) -> Response {
    match ASSETS.iter().find(|(n, _, _)| *n == name) {
        Some((_, content_type, bytes)) => (
            [
                (CONTENT_TYPE, *content_type),
                (CACHE_CONTROL, "public, max-age=3600"),
            ],
            *bytes,
        )
            .into_response(),
        None => not_found_plain(),
    }
}

/// The WCAG relative luminance of a `#rrggbb` colour.
fn luminance(hex: &str) -> Option<f64> {
    let [r, g, b] = domain::branding::hex_rgb(hex)?.map(|v| {
        let value = f64::from(v) / 255.0;
        if value <= 0.039_28 {
            value / 12.92
        } else {
            ((value + 0.055) / 1.055).powf(2.4)
        }
    });
    Some(0.2126 * r + 0.7152 * g + 0.0722 * b)
}

/// The contrast ratio of two luminances.
fn contrast(a: f64, b: f64) -> f64 {
    (a.max(b) + 0.05) / (a.min(b) + 0.05)
}

/// The stylesheet of brand `colour`: the header and buttons in it with
/// white or black text, whichever reads better; links and brand-coloured
/// text in it only where it reads on white (WCAG AA, 4.5:1), else in the
/// console's own dark blue. A colour that is
/// not `#rrggbb` (an environment default) leaves the console's own.
pub fn brand_stylesheet(colour: &str) -> String {
    let Some(brand) = luminance(colour) else {
        return String::new();
    };
    let ink = if contrast(brand, 1.0) >= contrast(brand, 0.0) {
        "#ffffff"
    } else {
        "#000000"
    };
    let link = if contrast(brand, 1.0) >= 4.5 {
        colour
    } else {
        "#0b5394"
    };
    format!(":root {{ --brand: {colour}; --brand-ink: {ink}; --brand-text: {link}; }}\n")
}

/// `GET /brand.css`: the brand's colours now (pages link it with the
/// settings' version, so a saved colour is fetched anew).
pub async fn brand_css(State(state): State<AppState>) -> Response {
    let colour = state.settings.current().branding.primary_colour.clone();
    (
        [
            (CONTENT_TYPE, "text/css; charset=utf-8"),
            (CACHE_CONTROL, "public, max-age=3600"),
        ],
        brand_stylesheet(&colour),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_header_text_and_links_keep_their_contrast_whatever_the_colour() {
        let dark = brand_stylesheet("#0b5394");
        assert!(
            dark.contains("--brand: #0b5394; --brand-ink: #ffffff; --brand-text: #0b5394;"),
            "{dark}"
        );
        // Yellow: black text on it, and links that stay readable on white.
        let light = brand_stylesheet("#ffdd00");
        assert!(light.contains("--brand-ink: #000000;"), "{light}");
        assert!(light.contains("--brand-text: #0b5394;"), "{light}");
        assert_eq!(brand_stylesheet("navy"), "");
    }
}
