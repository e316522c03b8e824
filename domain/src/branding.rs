//! The insurer's branding: the name, colour and contacts every message
//! and document carries (`BRAND_*` and `SUPPORT_*` settings).

use serde::Serialize;

/// The insurer's branding, shown in every message and document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Branding {
    /// The insurer's name.
    pub name: String,
    /// Logo for the email header.
    pub logo_url: Option<String>,
    /// Header colour (CSS).
    pub primary_colour: String,
    /// Where customers write.
    pub support_email: String,
    /// Where customers call.
    pub support_phone: Option<String>,
}

impl Default for Branding {
    fn default() -> Self {
        Self {
            name: "ifinsure".into(),
            logo_url: None,
            primary_colour: "#0b5394".into(),
            support_email: "support@ifinsure.example".into(),
            support_phone: None,
        }
    }
}

impl Branding {
    /// The primary colour as RGB fractions, when it is a `#rrggbb` hex
    /// colour (documents fall back to black otherwise).
    pub fn primary_rgb(&self) -> Option<[f32; 3]> {
        hex_rgb(&self.primary_colour).map(|rgb| rgb.map(|v| f32::from(v) / 255.0))
    }
}

/// The red, green and blue of a `#rrggbb` colour; `None` for anything
/// else.
pub fn hex_rgb(colour: &str) -> Option<[u8; 3]> {
    let hex = colour
        .strip_prefix('#')
        .filter(|h| h.len() == 6 && h.bytes().all(|b| b.is_ascii_hexdigit()))?;
    let channel = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).ok();
    Some([channel(0)?, channel(2)?, channel(4)?])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hex_colour_gives_rgb_fractions_and_anything_else_none() {
        let mut branding = Branding::default();
        branding.primary_colour = "#ff8000".into();
        assert_eq!(branding.primary_rgb(), Some([1.0, 128.0 / 255.0, 0.0]));
        for other in ["navy", "#fff", "#gg0000", "ff8000"] {
            branding.primary_colour = other.into();
            assert_eq!(branding.primary_rgb(), None, "{other}");
        }
    }
}
