//! Charts drawn on the server as inline SVG: bars and lines over named
//! groups, scaled to the largest value, each with a title for screen
//! readers (the page puts the same figures in a table beside it). Values
//! are decimals; only pixel positions are worked out from them.

use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;

/// One series of values, one per group.
pub struct Series {
    /// Its name in the legend.
    pub name: String,
    /// Its value in each group (none: nothing drawn there).
    pub values: Vec<Option<Decimal>>,
}

const WIDTH: i64 = 640;
const HEIGHT: i64 = 260;
const LEFT: i64 = 64;
const RIGHT: i64 = 16;
const TOP: i64 = 24;
const BOTTOM: i64 = 56;

/// How a chart draws its series.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Bars side by side in each group.
    Bars,
    /// A line through the groups.
    Line,
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A group's label under the axis: a month (`2026-11`) as `Nov 26`, any
/// other name cut to ten characters.
fn short_label(group: &str) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let month = group
        .split_once('-')
        .filter(|(year, month)| year.len() == 4 && month.len() == 2)
        .and_then(|(year, month)| {
            let index = month.parse::<usize>().ok()?.checked_sub(1)?;
            Some(format!("{} {}", MONTHS.get(index)?, year.get(2..)?))
        });
    month.unwrap_or_else(|| group.chars().take(10).collect())
}

/// A value's place on the y axis, in pixels from the top.
fn y_of(value: Decimal, max: Decimal) -> i64 {
    let plot = Decimal::from(HEIGHT - TOP - BOTTOM);
    let share = if max.is_zero() {
        Decimal::ZERO
    } else {
        (value.max(Decimal::ZERO) / max).min(Decimal::ONE)
    };
    HEIGHT - BOTTOM - (share * plot).round().to_i64().unwrap_or(0)
}

/// A round number at or above `max` for the axis.
fn axis_max(max: Decimal) -> Decimal {
    if max <= Decimal::ZERO {
        return Decimal::ONE;
    }
    let mut step = Decimal::ONE;
    while step * Decimal::TEN <= max {
        step *= Decimal::TEN;
    }
    while step > max {
        step /= Decimal::TEN;
    }
    for factor in [1, 2, 5, 10] {
        let top = step * Decimal::from(factor);
        if top >= max {
            return top;
        }
    }
    step * Decimal::TEN
}

/// The chart `title` of `series` over `groups`, as SVG; `None` when there
/// is nothing to draw (the page says so instead). `unit` follows the
/// axis's top value (`KES`, `%`).
pub fn draw(
    title: &str,
    kind: Kind,
    groups: &[String],
    series: &[Series],
    unit: &str,
) -> Option<String> {
    let max = series
        .iter()
        .flat_map(|s| s.values.iter().flatten())
        .copied()
        .max()
        .filter(|m| *m > Decimal::ZERO)?;
    let top = axis_max(max);
    let slot = (WIDTH - LEFT - RIGHT) / i64::try_from(groups.len().max(1)).unwrap_or(1);
    let id = format!(
        "chart-{}",
        title
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .collect::<String>()
            .to_lowercase()
    );
    let mut svg = format!(
        "<svg class=\"chart\" viewBox=\"0 0 {WIDTH} {HEIGHT}\" role=\"img\" aria-labelledby=\"{id}\" xmlns=\"http://www.w3.org/2000/svg\">\
         <title id=\"{id}\">{}</title>",
        escape(title)
    );
    // Axes and the top value.
    let base = HEIGHT - BOTTOM;
    svg.push_str(&format!(
        "<line class=\"axis\" x1=\"{LEFT}\" y1=\"{TOP}\" x2=\"{LEFT}\" y2=\"{base}\"/>\
         <line class=\"axis\" x1=\"{LEFT}\" y1=\"{base}\" x2=\"{}\" y2=\"{base}\"/>\
         <line class=\"grid\" x1=\"{LEFT}\" y1=\"{TOP}\" x2=\"{}\" y2=\"{TOP}\"/>\
         <text class=\"tick\" x=\"{}\" y=\"{}\">{} {}</text>\
         <text class=\"tick\" x=\"{}\" y=\"{base}\" text-anchor=\"end\">0</text>",
        WIDTH - RIGHT,
        WIDTH - RIGHT,
        LEFT + 4,
        TOP - 4,
        escape(&top.normalize().to_string()),
        escape(unit),
        LEFT - 6,
    ));
    for (i, group) in groups.iter().enumerate() {
        let x = LEFT + slot * i64::try_from(i).unwrap_or(0) + slot / 2;
        let label = short_label(group);
        svg.push_str(&format!(
            "<text class=\"tick\" x=\"{x}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
            base + 16,
            escape(&label)
        ));
    }
    let count = i64::try_from(series.len().max(1)).unwrap_or(1);
    for (n, s) in series.iter().enumerate() {
        let n = i64::try_from(n).unwrap_or(0);
        match kind {
            Kind::Bars => {
                let width = ((slot * 3 / 4) / count).max(2);
                for (i, value) in s.values.iter().enumerate() {
                    let Some(value) = value else { continue };
                    let y = y_of(*value, top);
                    let x = LEFT + slot * i64::try_from(i).unwrap_or(0) + slot / 8 + width * n;
                    svg.push_str(&format!(
                        "<rect class=\"s{n}\" x=\"{x}\" y=\"{y}\" width=\"{width}\" height=\"{}\"/>",
                        base - y
                    ));
                }
            }
            Kind::Line => {
                let points: Vec<String> = s
                    .values
                    .iter()
                    .enumerate()
                    .filter_map(|(i, v)| {
                        v.map(|v| {
                            let x = LEFT + slot * i64::try_from(i).unwrap_or(0) + slot / 2;
                            format!("{x},{}", y_of(v, top))
                        })
                    })
                    .collect();
                svg.push_str(&format!(
                    "<polyline class=\"line s{n}\" fill=\"none\" points=\"{}\"/>",
                    points.join(" ")
                ));
                for point in &points {
                    let (x, y) = point.split_once(',').unwrap_or(("0", "0"));
                    svg.push_str(&format!(
                        "<circle class=\"s{n}\" cx=\"{x}\" cy=\"{y}\" r=\"3\"/>"
                    ));
                }
            }
        }
        // The legend, under the groups.
        let lx = LEFT + n * 150;
        svg.push_str(&format!(
            "<rect class=\"s{n}\" x=\"{lx}\" y=\"{}\" width=\"10\" height=\"10\"/>\
             <text class=\"tick\" x=\"{}\" y=\"{}\">{}</text>",
            HEIGHT - 18,
            lx + 14,
            HEIGHT - 9,
            escape(&s.name)
        ));
    }
    svg.push_str("</svg>");
    Some(svg)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn dec(text: &str) -> Decimal {
        Decimal::from_str(text).unwrap()
    }

    #[test]
    fn bars_scale_to_a_round_top_and_nothing_to_draw_is_none() {
        let groups = vec!["2026-11".to_string(), "2026-12".to_string()];
        let series = [Series {
            name: "Written".into(),
            values: vec![Some(dec("35000")), Some(dec("70000"))],
        }];
        let svg = draw("Premium <written>", Kind::Bars, &groups, &series, "KES").unwrap();
        assert!(svg.starts_with("<svg class=\"chart\""), "{svg}");
        assert!(svg.contains("<title id=\"chart-premiumwritten\">Premium &lt;written&gt;</title>"));
        assert!(svg.contains(">100000 KES</text>"), "{svg}");
        assert_eq!(
            svg.matches("<rect class=\"s0\"").count(),
            3,
            "two bars and the legend"
        );
        let empty = [Series {
            name: "Written".into(),
            values: vec![Some(Decimal::ZERO), None],
        }];
        assert_eq!(draw("Nothing", Kind::Bars, &groups, &empty, "KES"), None);
    }

    #[test]
    fn months_read_as_months_and_long_names_are_cut() {
        assert_eq!(short_label("2026-11"), "Nov 26");
        assert_eq!(short_label("MOTOR-PRIVATE-COMPREHENSIVE"), "MOTOR-PRIV");
        assert_eq!(short_label("2026-13"), "2026-13");
    }

    #[test]
    fn a_line_goes_through_its_points() {
        let groups = vec!["a".to_string(), "b".to_string()];
        let series = [Series {
            name: "Loss ratio".into(),
            values: vec![Some(dec("40")), Some(dec("80"))],
        }];
        let svg = draw("Loss ratio", Kind::Line, &groups, &series, "%").unwrap();
        assert!(svg.contains("<polyline class=\"line s0\""), "{svg}");
        assert_eq!(svg.matches("<circle").count(), 2);
        assert!(svg.contains(">100 %</text>"), "{svg}");
    }

    #[test]
    fn the_axis_top_is_a_round_number_at_or_above_the_largest_value() {
        assert_eq!(axis_max(dec("35000")), dec("50000"));
        assert_eq!(axis_max(dec("100")), dec("100"));
        assert_eq!(axis_max(dec("0.42")), dec("0.5"));
        assert_eq!(axis_max(dec("7")), dec("10"));
    }
}
