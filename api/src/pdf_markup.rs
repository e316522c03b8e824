//! The markup document templates render to, one block per line:
//!
//! ```text
//! # Title
//! ## Heading
//! - Label | value
//! || Column | Column | Column      (a table's header)
//! | cell | cell | cell             (a table row)
//! > Small print, wrapped.
//! ```
//!
//! Blank lines are skipped; any other line is an error naming it, so a
//! broken template fails its tests, not a customer's download.

/// One block of a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Block {
    /// The document's title.
    Title(String),
    /// A section heading.
    Heading(String),
    /// A label and its value.
    Field(String, String),
    /// A table's column names.
    TableHeader(Vec<String>),
    /// A table row.
    Row(Vec<String>),
    /// Small print.
    Note(String),
}

/// A line the markup does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("document markup line {line}: {text:?} is not a title, heading, field, table row or note")]
pub struct MarkupError {
    /// Its number, from 1.
    pub line: usize,
    /// The line.
    pub text: String,
}

fn cells(text: &str) -> Vec<String> {
    text.split(" | ").map(|c| c.trim().to_string()).collect()
}

/// The blocks of `markup`.
///
/// # Errors
/// `MarkupError` for the first line that is none of the above.
pub fn parse(markup: &str) -> Result<Vec<Block>, MarkupError> {
    let mut blocks = Vec::new();
    for (index, raw) in markup.lines().enumerate() {
        // Trailing spaces are kept: they hold an empty last cell or value.
        let line = raw.trim_start();
        let block = if line.trim().is_empty() {
            continue;
        } else if let Some(rest) = line.strip_prefix("## ") {
            Block::Heading(rest.trim().to_string())
        } else if let Some(rest) = line.strip_prefix("# ") {
            Block::Title(rest.trim().to_string())
        } else if let Some(rest) = line.strip_prefix("- ") {
            let (label, value) = rest.split_once(" | ").unwrap_or((rest, ""));
            Block::Field(label.trim().to_string(), value.trim().to_string())
        } else if let Some(rest) = line.strip_prefix("|| ") {
            Block::TableHeader(cells(rest))
        } else if let Some(rest) = line.strip_prefix("| ") {
            Block::Row(cells(rest))
        } else if let Some(rest) = line.strip_prefix("> ") {
            Block::Note(rest.trim().to_string())
        } else {
            return Err(MarkupError {
                line: index + 1,
                text: raw.to_string(),
            });
        };
        blocks.push(block);
    }
    Ok(blocks)
}

/// `value` made safe to print inside a line of markup: no line breaks, and
/// no ` | ` that would split a field or cell.
pub fn inline(value: &str) -> String {
    value
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace(" | ", " / ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_of_line_becomes_its_block() {
        let blocks = parse(
            "# Invoice\n\n## Billed to\n- Name | Wanjiku Kamau\n- Empty | \n|| Date | Amount\n| 2026-11-25 | KES 1.00\n|  | KES 2.00\n| KES 3.00 | \n> Thank you.\n",
        )
        .unwrap();
        assert_eq!(
            blocks,
            vec![
                Block::Title("Invoice".into()),
                Block::Heading("Billed to".into()),
                Block::Field("Name".into(), "Wanjiku Kamau".into()),
                Block::Field("Empty".into(), String::new()),
                Block::TableHeader(vec!["Date".into(), "Amount".into()]),
                Block::Row(vec!["2026-11-25".into(), "KES 1.00".into()]),
                Block::Row(vec![String::new(), "KES 2.00".into()]),
                Block::Row(vec!["KES 3.00".into(), String::new()]),
                Block::Note("Thank you.".into()),
            ]
        );
    }

    #[test]
    fn an_unknown_line_is_an_error_naming_it() {
        let error = parse("# Title\nstray text").unwrap_err();
        assert_eq!(error.line, 2);
        assert_eq!(error.text, "stray text");
    }

    #[test]
    fn printed_values_cannot_break_the_markup() {
        assert_eq!(
            inline("Flat 4\n# Ngong Rd | Nairobi"),
            "Flat 4 # Ngong Rd / Nairobi"
        );
    }
}
