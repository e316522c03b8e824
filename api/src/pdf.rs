//! A minimal PDF writer for the documents the API serves (policy
//! certificates, invoices, receipts): one A4 page of text in Helvetica, with
//! a correct cross-reference table. Text outside Latin-1 is shown as `?`.

use std::fmt::Write as _;

/// One line of a document: a label and its value (empty label: a plain line).
pub type Line = (String, String);

/// Escapes a string for a PDF literal, keeping to the Latin-1 range the
/// standard Helvetica encoding covers.
fn literal(text: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len() + 2);
    out.push(b'(');
    for c in text.chars() {
        match c {
            '(' | ')' | '\\' => {
                out.push(b'\\');
                out.push(c as u8);
            }
            c if (' '..='~').contains(&c) => out.push(c as u8),
            c if (c as u32) >= 0xA0 && (c as u32) <= 0xFF => out.push(c as u32 as u8),
            _ => out.push(b'?'),
        }
    }
    out.push(b')');
    out
}

fn content(title: &str, subtitle: &str, lines: &[Line]) -> Vec<u8> {
    let mut stream = Vec::new();
    stream.extend_from_slice(b"BT /F2 18 Tf 56 780 Td ");
    stream.extend_from_slice(&literal(title));
    stream.extend_from_slice(b" Tj ET\nBT /F1 10 Tf 56 760 Td ");
    stream.extend_from_slice(&literal(subtitle));
    stream.extend_from_slice(b" Tj ET\n");
    let mut y = 728;
    for (label, value) in lines.iter().take(44) {
        stream.extend_from_slice(format!("BT /F2 11 Tf 56 {y} Td ").as_bytes());
        stream.extend_from_slice(&literal(label));
        stream.extend_from_slice(format!(" Tj ET\nBT /F1 11 Tf 230 {y} Td ").as_bytes());
        stream.extend_from_slice(&literal(value));
        stream.extend_from_slice(b" Tj ET\n");
        y -= 16;
    }
    stream
}

/// A one-page PDF with `title`, `subtitle` and `lines`.
pub fn render(title: &str, subtitle: &str, lines: &[Line]) -> Vec<u8> {
    let stream = content(title, subtitle, lines);
    let mut objects: Vec<Vec<u8>> = vec![
        b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_vec(),
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << /Font << /F1 5 0 R /F2 6 0 R >> >> >>".to_vec(),
    ];
    let mut contents = format!("<< /Length {} >>\nstream\n", stream.len()).into_bytes();
    contents.extend_from_slice(&stream);
    contents.extend_from_slice(b"endstream");
    objects.push(contents);
    objects.push(
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"
            .to_vec(),
    );
    objects.push(
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>"
            .to_vec(),
    );

    let mut pdf = b"%PDF-1.4\n%\xE2\xE3\xCF\xD3\n".to_vec();
    let mut offsets = Vec::with_capacity(objects.len());
    for (index, object) in objects.iter().enumerate() {
        offsets.push(pdf.len());
        pdf.extend_from_slice(format!("{} 0 obj\n", index + 1).as_bytes());
        pdf.extend_from_slice(object);
        pdf.extend_from_slice(b"\nendobj\n");
    }
    let xref = pdf.len();
    let mut table = format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1);
    for offset in offsets {
        let _ = writeln!(table, "{offset:010} 00000 n ");
    }
    let _ = write!(
        table,
        "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
        objects.len() + 1
    );
    pdf.extend_from_slice(table.as_bytes());
    pdf
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(pdf: &[u8]) -> String {
        String::from_utf8_lossy(pdf).into_owned()
    }

    #[test]
    fn the_cross_reference_table_points_at_each_object() {
        let pdf = render(
            "Invoice",
            "ifinsure",
            &[("Amount".into(), "KES 1,250.00".into())],
        );
        let body = text(&pdf);
        assert!(body.starts_with("%PDF-1.4"));
        assert!(body.ends_with("%%EOF\n"));
        let startxref: usize = body
            .rsplit("startxref\n")
            .next()
            .and_then(|rest| rest.lines().next())
            .and_then(|n| n.parse().ok())
            .unwrap();
        assert!(pdf[startxref..].starts_with(b"xref"));
        let table = String::from_utf8(pdf[startxref..].to_vec()).unwrap();
        for (number, line) in table.lines().skip(3).take(6).enumerate() {
            let offset: usize = line[..10].parse().unwrap();
            let expected = format!("{} 0 obj", number + 1);
            assert!(
                pdf[offset..].starts_with(expected.as_bytes()),
                "object {}",
                number + 1
            );
        }
    }

    #[test]
    fn text_is_escaped_and_kept_to_latin_1() {
        let pdf = render("A (draft) \\ note", "Nairobi – Kenya", &[]);
        let body = text(&pdf);
        assert!(body.contains(r"(A \(draft\) \\ note)"));
        assert!(body.contains("(Nairobi ? Kenya)"));
    }
}
