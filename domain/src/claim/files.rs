//! Rules for documents attached to claims: which files are accepted, decided
//! by their content (never by their name), and how names are made safe.

/// The largest document accepted: 10 MiB.
pub const MAX_DOCUMENT_BYTES: usize = 10 * 1024 * 1024;

/// The content type of `bytes` by their magic numbers: PDF, JPEG or PNG;
/// `None` for anything else.
pub fn content_type_of(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"%PDF-") {
        Some("application/pdf")
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if bytes.starts_with(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A]) {
        Some("image/png")
    } else {
        None
    }
}

/// The extension that matches a content type.
pub fn extension_for(content_type: &str) -> &'static str {
    match content_type {
        "application/pdf" => "pdf",
        "image/jpeg" => "jpg",
        "image/png" => "png",
        _ => "bin",
    }
}

/// A safe file name: the last path component, characters outside
/// `A-Z a-z 0-9 . _ -` replaced by `_`, no leading dots, at most 100
/// characters, and the extension of the real content type.
pub fn sanitize_filename(raw: &str, content_type: &str) -> String {
    let base = raw.rsplit(['/', '\\']).next().unwrap_or_default();
    let stem = base.rsplit_once('.').map_or(base, |(stem, _)| stem);
    let cleaned: String = stem
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let cleaned = cleaned
        .trim_start_matches(['.', '_'])
        .chars()
        .take(90)
        .collect::<String>();
    let stem = if cleaned.is_empty() {
        "document".to_string()
    } else {
        cleaned
    };
    format!("{stem}.{}", extension_for(content_type))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_come_from_the_content_not_the_name() {
        assert_eq!(content_type_of(b"%PDF-1.7 ..."), Some("application/pdf"));
        assert_eq!(
            content_type_of(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 0]),
            Some("image/jpeg")
        );
        assert_eq!(content_type_of(b"\x89PNG\r\n\x1a\n...."), Some("image/png"));
        assert_eq!(content_type_of(b"MZ\x90\x00 an exe"), None);
        assert_eq!(content_type_of(b""), None);
    }

    #[test]
    fn names_lose_paths_odd_characters_and_lying_extensions() {
        assert_eq!(
            sanitize_filename("../../etc/passwd", "application/pdf"),
            "passwd.pdf"
        );
        assert_eq!(
            sanitize_filename("C:\\Users\\me\\ajali picha (1).JPG", "image/jpeg"),
            "ajali_picha__1_.jpg"
        );
        assert_eq!(
            sanitize_filename("invoice.exe", "application/pdf"),
            "invoice.pdf"
        );
        assert_eq!(sanitize_filename("...", "image/png"), "document.png");
        assert_eq!(sanitize_filename(&"x".repeat(300), "image/png").len(), 94);
    }
}
