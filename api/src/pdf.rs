//! PDF layout of the documents the API serves, with `pdf-writer`: A4 pages
//! under a band in the brand's colour, the document's blocks laid out top
//! to bottom (breaking onto new pages as needed), and a footer with the
//! insurer's contacts and the page number on each page.
//!
//! Text is set in the standard Helvetica fonts (nothing embedded) with the
//! WinAnsi encoding, so it can be selected, searched and extracted;
//! characters outside it show as `?`.

use domain::branding::Branding;
use pdf_writer::{Content, Finish, Name, Pdf, Rect, Ref, Str, TextStr};

use crate::pdf_markup::Block;

const PAGE_WIDTH: f32 = 595.0;
const PAGE_HEIGHT: f32 = 842.0;
const MARGIN: f32 = 50.0;
const BAND_HEIGHT: f32 = 44.0;
/// Where the body's first baseline sits and where it must stop.
const BODY_TOP: f32 = PAGE_HEIGHT - BAND_HEIGHT - 40.0;
const BODY_BOTTOM: f32 = 70.0;
/// Where a field's value starts.
const VALUE_X: f32 = 210.0;

const REGULAR: Name<'static> = Name(b"F1");
const BOLD: Name<'static> = Name(b"F2");

/// Helvetica's advance widths (per 1000 units of the font size) of the
/// printable ASCII characters, from its font metrics.
const HELVETICA_WIDTHS: [u16; 95] = [
    278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278,
    278, // ' '..'/'
    556, 556, 556, 556, 556, 556, 556, 556, 556, 556, // '0'..'9'
    278, 278, 584, 584, 584, 556, 1015, // ':'..'@'
    667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833, // 'A'..'M'
    722, 778, 667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, // 'N'..'Z'
    278, 278, 278, 469, 556, 333, // '['..'`'
    556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, // 'a'..'m'
    556, 556, 556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, // 'n'..'z'
    334, 260, 334, 584, // '{'..'~'
];

/// The width of `text` at `size` in Helvetica (other characters counted
/// as wide as a digit).
pub fn text_width(text: &str, size: f32) -> f32 {
    let units: u32 = text
        .chars()
        .map(|c| {
            let code = c as u32;
            if (32..127).contains(&code) {
                u32::from(HELVETICA_WIDTHS[(code - 32) as usize])
            } else {
                556
            }
        })
        .sum();
    units as f32 * size / 1000.0
}

/// `text` in the WinAnsi encoding of the standard fonts.
fn win_ansi(text: &str) -> Vec<u8> {
    text.chars()
        .map(|c| match c {
            ' '..='~' => c as u8,
            '\u{a0}'..='\u{ff}' => c as u32 as u8,
            '€' => 0x80,
            '…' => 0x85,
            '‘' => 0x91,
            '’' => 0x92,
            '“' => 0x93,
            '”' => 0x94,
            '•' => 0x95,
            '–' => 0x96,
            '—' => 0x97,
            _ => b'?',
        })
        .collect()
}

/// `text` broken into lines no wider than `width` at `size`, at spaces
/// where it can (a word longer than a line is cut).
fn wrap(text: &str, size: f32, width: f32) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        let candidate = if line.is_empty() {
            word.to_string()
        } else {
            format!("{line} {word}")
        };
        if text_width(&candidate, size) <= width {
            line = candidate;
            continue;
        }
        if !line.is_empty() {
            lines.push(std::mem::take(&mut line));
        }
        let mut rest = word.to_string();
        while text_width(&rest, size) > width {
            let mut cut = rest.len();
            while cut > 1 && text_width(&rest[..cut], size) > width {
                cut = rest[..cut - 1]
                    .char_indices()
                    .last()
                    .map_or(1, |(i, _)| i.max(1));
            }
            lines.push(rest[..cut].to_string());
            rest = rest[cut..].to_string();
        }
        line = rest;
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}

/// Whether a table cell is an amount (right-aligned): a number with
/// grouped thousands and decimals, signed or in brackets, after an optional
/// currency code (`KES 1,250.00`, `-35,000.13`, `(12.50)`).
fn is_amount(cell: &str) -> bool {
    let number = match cell.split_once(' ') {
        Some((code, rest)) if code.len() == 3 && code.chars().all(|c| c.is_ascii_uppercase()) => {
            rest
        }
        _ => cell,
    };
    let number = number.strip_prefix('-').unwrap_or(number);
    let number = number
        .strip_prefix('(')
        .and_then(|n| n.strip_suffix(')'))
        .unwrap_or(number);
    number.starts_with(|c: char| c.is_ascii_digit())
        && number
            .chars()
            .all(|c| c.is_ascii_digit() || c == ',' || c == '.')
}

/// Pages being filled.
struct Layout {
    pages: Vec<Content>,
    y: f32,
    /// The current table's header and column widths (the header is
    /// repeated on a new page).
    table: Option<(Vec<String>, Vec<f32>)>,
    /// Which of the current table's columns hold amounts (their headers
    /// are right-aligned too).
    amount_columns: Vec<bool>,
}

impl Layout {
    fn new() -> Self {
        Self {
            pages: vec![Content::new()],
            y: BODY_TOP,
            table: None,
            amount_columns: Vec::new(),
        }
    }

    fn page(&mut self) -> &mut Content {
        self.pages.last_mut().expect("a layout has a page")
    }

    /// Makes room for `height` below the current line, on a new page if
    /// this one is full.
    fn room(&mut self, height: f32) {
        if self.y - height >= BODY_BOTTOM {
            return;
        }
        self.pages.push(Content::new());
        self.y = BODY_TOP;
        if let Some((header, widths)) = self.table.clone() {
            self.table_row(&header, &widths, true);
        }
    }

    fn text(&mut self, x: f32, font: Name<'static>, size: f32, text: &str) {
        let y = self.y;
        self.page()
            .begin_text()
            .set_font(font, size)
            .next_line(x, y)
            .show(Str(&win_ansi(text)))
            .end_text();
    }

    fn rule(&mut self, y: f32) {
        self.page()
            .set_line_width(0.5)
            .set_stroke_rgb(0.6, 0.6, 0.6)
            .move_to(MARGIN, y)
            .line_to(PAGE_WIDTH - MARGIN, y)
            .stroke();
    }

    /// Lays out `blocks[index]`; a table header takes its rows' widths
    /// into account.
    fn block(&mut self, blocks: &[Block], index: usize) {
        let block = &blocks[index];
        if !matches!(block, Block::Row(_)) && self.table.take().is_some() {
            // Air between a table and what follows it.
            self.y -= 6.0;
        }
        match block {
            Block::Title(title) => {
                self.room(28.0);
                self.text(MARGIN, BOLD, 18.0, title);
                self.y -= 28.0;
            }
            Block::Heading(heading) => {
                self.room(30.0);
                self.y -= 8.0;
                self.text(MARGIN, BOLD, 12.0, heading);
                self.y -= 18.0;
            }
            Block::Field(label, value) => {
                let lines = wrap(value, 10.0, PAGE_WIDTH - MARGIN - VALUE_X);
                self.room(15.0 * lines.len() as f32);
                self.text(MARGIN, BOLD, 10.0, label);
                for line in lines {
                    self.text(VALUE_X, REGULAR, 10.0, &line);
                    self.y -= 15.0;
                }
            }
            Block::TableHeader(cells) => {
                let rows: Vec<&Vec<String>> = blocks[index + 1..]
                    .iter()
                    .map_while(|b| match b {
                        Block::Row(row) => Some(row),
                        _ => None,
                    })
                    .collect();
                let widths = column_widths(cells, &rows);
                self.amount_columns = (0..cells.len())
                    .map(|i| {
                        let mut column = rows
                            .iter()
                            .filter_map(|r| r.get(i))
                            .filter(|c| !c.is_empty());
                        let first = column.next();
                        first.is_some_and(|c| is_amount(c)) && column.all(|c| is_amount(c))
                    })
                    .collect();
                self.room(36.0);
                self.y -= 4.0;
                self.table_row(cells, &widths, true);
                self.table = Some((cells.clone(), widths));
            }
            Block::Row(cells) => {
                let widths = match &self.table {
                    Some((_, widths)) => widths.clone(),
                    None => column_widths(cells, &[]),
                };
                self.table_row(cells, &widths, false);
            }
            Block::Note(text) => {
                let lines = wrap(text, 8.0, PAGE_WIDTH - 2.0 * MARGIN);
                self.room(6.0 + 11.0 * lines.len() as f32);
                self.y -= 6.0;
                for line in lines {
                    self.text(MARGIN, REGULAR, 8.0, &line);
                    self.y -= 11.0;
                }
            }
        }
    }

    /// One table row in columns of `widths`, text wrapped within its
    /// column, amounts right-aligned; a header in bold with a rule under it.
    fn table_row(&mut self, cells: &[String], widths: &[f32], header: bool) {
        let font = if header { BOLD } else { REGULAR };
        let wrapped: Vec<Vec<String>> = cells
            .iter()
            .zip(widths)
            .map(|(cell, width)| wrap(cell, TABLE_SIZE, width - CELL_PADDING))
            .collect();
        let height = wrapped.iter().map(Vec::len).max().unwrap_or(1) as f32 * 11.0 + 3.0;
        self.room(height + if header { 2.0 } else { 0.0 });
        let top = self.y;
        let mut left = MARGIN;
        for (i, (lines, width)) in wrapped.iter().zip(widths).enumerate() {
            let right_aligned = if header {
                self.amount_columns.get(i).copied().unwrap_or(false)
            } else {
                is_amount(&cells[i])
            };
            for (n, line) in lines.iter().enumerate() {
                let x = if right_aligned {
                    left + width - CELL_PADDING - text_width(line, TABLE_SIZE)
                } else {
                    left
                };
                self.y = top - 11.0 * n as f32;
                self.text(x, font, TABLE_SIZE, line);
            }
            left += width;
        }
        self.y = top;
        if header {
            self.rule(self.y - 4.0);
            self.y -= height + 2.0;
        } else {
            self.y -= height;
        }
    }
}

/// Table text size and the space kept at a column's right.
const TABLE_SIZE: f32 = 9.0;
const CELL_PADDING: f32 = 6.0;

/// Column widths for a table of `header` and `rows` across the page: each
/// column as wide as its widest cell when that fits, else columns of
/// amounts and short words keep their width and the others share the rest.
fn column_widths(header: &[String], rows: &[&Vec<String>]) -> Vec<f32> {
    let available = PAGE_WIDTH - 2.0 * MARGIN;
    let count = header.len().max(1);
    let natural: Vec<f32> = (0..count)
        .map(|i| {
            std::iter::once(header)
                .chain(rows.iter().map(|r| r.as_slice()))
                .filter_map(|row| row.get(i))
                .map(|cell| text_width(cell, TABLE_SIZE) + CELL_PADDING)
                .fold(20.0_f32, f32::max)
        })
        .collect();
    let total: f32 = natural.iter().sum();
    if total <= available {
        return natural.iter().map(|w| w * available / total).collect();
    }
    // Columns that would not wrap well keep their width.
    let fixed: Vec<bool> = (0..count)
        .map(|i| {
            rows.iter().filter_map(|row| row.get(i)).all(|cell| {
                cell.is_empty() || is_amount(cell) || !cell.contains(' ') || cell.len() <= 12
            })
        })
        .collect();
    let fixed_width: f32 = natural
        .iter()
        .zip(&fixed)
        .filter(|(_, f)| **f)
        .map(|(w, _)| w)
        .sum();
    let flexible: f32 = total - fixed_width;
    let left = available - fixed_width;
    if left < available * 0.25 || flexible <= 0.0 {
        // Too little room: every column gives up its share.
        return natural.iter().map(|w| w * available / total).collect();
    }
    natural
        .iter()
        .zip(&fixed)
        .map(|(w, f)| if *f { *w } else { w * left / flexible })
        .collect()
}

/// The band, brand name and footer of page `number` of `count`.
fn frame(page: &mut Content, branding: &Branding, number: usize, count: usize) {
    let [r, g, b] = branding.primary_rgb().unwrap_or([0.0, 0.0, 0.0]);
    page.save_state()
        .set_fill_rgb(r, g, b)
        .rect(0.0, PAGE_HEIGHT - BAND_HEIGHT, PAGE_WIDTH, BAND_HEIGHT)
        .fill_nonzero()
        .set_fill_rgb(1.0, 1.0, 1.0)
        .begin_text()
        .set_font(BOLD, 16.0)
        .next_line(MARGIN, PAGE_HEIGHT - BAND_HEIGHT + 15.0)
        .show(Str(&win_ansi(&branding.name)))
        .end_text()
        .restore_state();
    let mut contact = branding.support_email.clone();
    if let Some(phone) = &branding.support_phone {
        contact = format!("{contact}  ·  {phone}");
    }
    let numbering = format!("Page {number} of {count}");
    page.set_line_width(0.5)
        .set_stroke_rgb(0.6, 0.6, 0.6)
        .move_to(MARGIN, 50.0)
        .line_to(PAGE_WIDTH - MARGIN, 50.0)
        .stroke()
        .begin_text()
        .set_font(REGULAR, 8.0)
        .next_line(MARGIN, 38.0)
        .show(Str(&win_ansi(&format!("{}  ·  {contact}", branding.name))))
        .end_text()
        .begin_text()
        .set_font(REGULAR, 8.0)
        .next_line(PAGE_WIDTH - MARGIN - text_width(&numbering, 8.0), 38.0)
        .show(Str(numbering.as_bytes()))
        .end_text();
}

/// A PDF of `blocks` under `branding`, titled `title` in its properties.
pub fn render(title: &str, blocks: &[Block], branding: &Branding) -> Vec<u8> {
    let mut layout = Layout::new();
    for index in 0..blocks.len() {
        layout.block(blocks, index);
    }
    let count = layout.pages.len();
    let catalog = Ref::new(1);
    let tree = Ref::new(2);
    let (regular, bold) = (Ref::new(3), Ref::new(4));
    let info = Ref::new(5);
    let first_page = 6;
    let page_ids: Vec<Ref> = (0..count)
        .map(|i| Ref::new(first_page + 2 * i as i32))
        .collect();

    let mut pdf = Pdf::new();
    pdf.catalog(catalog).pages(tree);
    pdf.pages(tree)
        .kids(page_ids.iter().copied())
        .count(count as i32);
    for (id, base) in [(regular, "Helvetica"), (bold, "Helvetica-Bold")] {
        pdf.type1_font(id)
            .base_font(Name(base.as_bytes()))
            .encoding_predefined(Name(b"WinAnsiEncoding"));
    }
    pdf.document_info(info)
        .title(TextStr(title))
        .author(TextStr(&branding.name))
        .producer(TextStr("ifinsure"));
    for (index, (mut content, id)) in layout.pages.into_iter().zip(&page_ids).enumerate() {
        frame(&mut content, branding, index + 1, count);
        let contents = Ref::new(id.get() + 1);
        let mut page = pdf.page(*id);
        page.parent(tree)
            .media_box(Rect::new(0.0, 0.0, PAGE_WIDTH, PAGE_HEIGHT))
            .contents(contents);
        page.resources()
            .fonts()
            .pair(REGULAR, regular)
            .pair(BOLD, bold);
        page.finish();
        pdf.stream(contents, &content.finish());
    }
    pdf.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widths_follow_the_font_metrics() {
        assert!((text_width("0", 10.0) - 5.56).abs() < 1e-4);
        assert!((text_width("Wi", 1000.0) - (944.0 + 222.0)).abs() < 1e-3);
    }

    #[test]
    fn long_text_wraps_at_spaces_and_long_words_are_cut() {
        let lines = wrap(
            "one two three four five six",
            10.0,
            text_width("one two", 10.0),
        );
        assert_eq!(lines, ["one two", "three", "four", "five six"]);
        let cut = wrap("abcdefghij", 10.0, text_width("abcd", 10.0));
        assert_eq!(cut.concat(), "abcdefghij");
        assert!(cut
            .iter()
            .all(|l| text_width(l, 10.0) <= text_width("abcd", 10.0)));
    }

    #[test]
    fn text_is_encoded_in_win_ansi() {
        assert_eq!(
            win_ansi("Nairobi – Kenya €5 ☂"),
            b"Nairobi \x96 Kenya \x805 ?"
        );
    }

    #[test]
    fn amounts_are_recognised_for_right_alignment() {
        for amount in ["KES 1,250.00", "-35,000.13", "(12.50)", "100"] {
            assert!(is_amount(amount), "{amount}");
        }
        for text in ["INV-2026-000001", "Payment by mpesa", "", "KES"] {
            assert!(!is_amount(text), "{text}");
        }
    }

    #[test]
    fn columns_share_the_width_and_long_text_columns_give_way() {
        let header = ["Date".to_string(), "Description".into(), "Amount".into()];
        let short = vec!["25 Nov".to_string(), "Invoice".into(), "KES 1.00".into()];
        let widths = column_widths(&header, &[&short]);
        let available = PAGE_WIDTH - 2.0 * MARGIN;
        assert!((widths.iter().sum::<f32>() - available).abs() < 0.01);
        let long = vec![
            "25 Nov".to_string(),
            "Invoice INV-2026-000001 for the renewal of policy POL-2026-000001, ".repeat(3),
            "KES 1,000,000.00".into(),
        ];
        let widths = column_widths(&header, &[&long]);
        let amount = text_width("KES 1,000,000.00", TABLE_SIZE) + CELL_PADDING;
        assert!(
            (widths[2] - amount).abs() < 0.01,
            "the amount keeps its width"
        );
        assert!((widths.iter().sum::<f32>() - available).abs() < 0.01);
    }

    #[test]
    fn a_long_document_breaks_onto_pages_each_numbered() {
        let mut blocks = vec![
            Block::Title("Statement".into()),
            Block::TableHeader(vec!["Date".into(), "Amount".into()]),
        ];
        for i in 0..120 {
            blocks.push(Block::Row(vec![format!("row {i}"), "KES 1.00".into()]));
        }
        let pdf = render("Statement", &blocks, &Branding::default());
        let text = String::from_utf8_lossy(&pdf);
        assert!(text.starts_with("%PDF-"));
        assert!(text.contains("/Count 3"), "120 rows take three pages");
        assert!(text.contains("(Page 3 of 3)"));
    }
}
