//! Reports: `/reports` and one page per report — premium written and
//! earned by month or product (bars), claims and the loss ratio (a line),
//! collections by provider (bars), agents' commissions (an agent sees
//! their own) and overdue ageing (bars by age). Each has the fields
//! **From**, **To** and **Group by** (ageing: **To**, the date balances are
//! aged to, and **Group by**), a chart drawn on the server with the same
//! figures in a table beside it, and **Download CSV** of the same rows.

use axum::extract::RawQuery;
use axum::http::header::{HeaderValue, CONTENT_DISPOSITION};
use axum::http::StatusCode;
use domain::Role;
use rust_decimal::Decimal;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::str::FromStr;

use super::{filters, Page};
use crate::console::charts::{draw, Kind, Series};
use crate::console::client::Call;
use crate::console::context::Console;
use crate::console::errors::Segments;

/// Who reads the reports other than commissions.
const READERS: [Role; 3] = [Role::Staff, Role::Admin, Role::Auditor];

/// A report: its path, title, what it shows, and who reads it.
struct Report {
    name: &'static str,
    title: &'static str,
    summary: &'static str,
    agents: bool,
}

const REPORTS: [Report; 5] = [
    Report {
        name: "policies",
        title: "Premium report",
        summary: "Premium written, earned and unearned, by month or product.",
        agents: false,
    },
    Report {
        name: "claims",
        title: "Claims and loss ratio",
        summary: "Claims reported, incurred, paid and outstanding, and the loss ratio against earned premium.",
        agents: false,
    },
    Report {
        name: "revenue",
        title: "Collections",
        summary: "Payments by provider: requested, succeeded and failed, collected, refunded and net.",
        agents: false,
    },
    Report {
        name: "commissions",
        title: "Commissions",
        summary: "Each agent's premium paid and commission earned.",
        agents: true,
    },
    Report {
        name: "ageing",
        title: "Overdue ageing",
        summary: "Unpaid premium past its due date, by how long it is overdue.",
        agents: false,
    },
];

fn may_read(console: &Console, report: &Report) -> bool {
    READERS.contains(&console.viewer.role) || (report.agents && console.viewer.role == Role::Agent)
}

fn found(console: &Console, name: &str) -> Result<&'static Report, axum::response::Response> {
    let report = REPORTS
        .iter()
        .find(|r| r.name == name)
        .ok_or_else(|| console.error(StatusCode::NOT_FOUND))?;
    if !may_read(console, report) {
        return Err(console.error(StatusCode::FORBIDDEN));
    }
    Ok(report)
}

/// `GET /reports`.
pub async fn index(console: Console) -> Page {
    let listed: Vec<Value> = REPORTS
        .iter()
        .filter(|r| may_read(&console, r))
        .map(|r| json!({"name": r.name, "title": r.title, "summary": r.summary}))
        .collect();
    if listed.is_empty() {
        return Err(console.error(StatusCode::FORBIDDEN));
    }
    Ok(console.render(
        "reports.html",
        json!({"section": "/reports", "reports": listed}),
    ))
}

/// The filters a report passes on to the API.
fn keys(report: &Report) -> &'static [&'static str] {
    if report.name == "ageing" {
        &["as_of", "group_by"]
    } else {
        &["from", "to", "group_by"]
    }
}

/// A decimal amount of a money value or a plain decimal string.
fn decimal(value: &Value) -> Option<Decimal> {
    let text = value["amount"].as_str().or_else(|| value.as_str())?;
    Decimal::from_str(text).ok()
}

/// Sums `field` of `rows` by `key` (in first-seen order).
fn summed(
    rows: &[Value],
    key: impl Fn(&Value) -> String,
    field: &str,
) -> (Vec<String>, Vec<Option<Decimal>>) {
    let mut order = Vec::new();
    let mut sums: BTreeMap<String, Decimal> = BTreeMap::new();
    for row in rows {
        let k = key(row);
        if !sums.contains_key(&k) {
            order.push(k.clone());
        }
        *sums.entry(k).or_default() += decimal(&row[field]).unwrap_or_default();
    }
    let values = order.iter().map(|k| sums.get(k).copied()).collect();
    (order, values)
}

/// The currency of the rows' amounts (the first row's).
fn currency(rows: &[Value], field: &str) -> String {
    rows.first()
        .and_then(|r| {
            r[field]["currency"]
                .as_str()
                .or_else(|| r["currency"].as_str())
        })
        .unwrap_or_default()
        .to_string()
}

/// The table's columns: field, heading, and how the value reads
/// (`money`, `percent`, `text`).
fn columns(report: &Report) -> Vec<Value> {
    let cols: &[(&str, &str, &str)] = match report.name {
        "policies" => &[
            ("group", "Group", "text"),
            ("policies", "Policies", "text"),
            ("written", "Written", "money"),
            ("earned", "Earned", "money"),
            ("unearned", "Unearned", "money"),
        ],
        "claims" => &[
            ("group", "Group", "text"),
            ("reported", "Reported", "text"),
            ("incurred", "Incurred", "money"),
            ("paid", "Paid", "money"),
            ("outstanding", "Outstanding", "money"),
            ("case_reserves", "Case reserves", "money"),
            ("earned", "Earned premium", "money"),
            ("loss_ratio", "Loss ratio", "percent"),
        ],
        "revenue" => &[
            ("group", "Group", "text"),
            ("provider", "Provider", "text"),
            ("requested", "Requested", "text"),
            ("pending", "Pending", "text"),
            ("succeeded", "Succeeded", "text"),
            ("failed", "Failed", "text"),
            ("success_rate", "Success rate", "percent"),
            ("collected", "Collected", "money"),
            ("refunded", "Refunded", "money"),
            ("net", "Net", "money"),
        ],
        "commissions" => &[
            ("group", "Group", "text"),
            ("agent_name", "Agent", "text"),
            ("policies", "Policies", "text"),
            ("premium", "Premium paid", "money"),
            ("commission", "Commission", "money"),
        ],
        _ => &[
            ("group", "Group", "text"),
            ("invoices", "Invoices", "text"),
            ("days_0_30", "0–30 days", "money"),
            ("days_31_60", "31–60 days", "money"),
            ("days_61_90", "61–90 days", "money"),
            ("days_over_90", "Over 90 days", "money"),
            ("total", "Total", "money"),
        ],
    };
    cols.iter()
        .map(|(field, heading, kind)| json!({"field": field, "heading": heading, "kind": kind}))
        .collect()
}

/// The report's chart as SVG, or `None` when it has nothing to draw.
fn chart(report: &Report, rows: &[Value]) -> Option<String> {
    let group = |r: &Value| r["group"].as_str().unwrap_or_default().to_string();
    match report.name {
        "policies" => {
            let (groups, written) = summed(rows, group, "written");
            let (_, earned) = summed(rows, group, "earned");
            let series = [
                Series {
                    name: "Written".into(),
                    values: written,
                },
                Series {
                    name: "Earned".into(),
                    values: earned,
                },
            ];
            draw(
                "Premium written and earned",
                Kind::Bars,
                &groups,
                &series,
                &currency(rows, "written"),
            )
        }
        "claims" => {
            let groups: Vec<String> = rows.iter().map(group).collect();
            let ratio = rows
                .iter()
                .map(|r| decimal(&r["loss_ratio"]).map(|v| v * Decimal::ONE_HUNDRED))
                .collect();
            let series = [Series {
                name: "Loss ratio".into(),
                values: ratio,
            }];
            draw("Loss ratio", Kind::Line, &groups, &series, "%")
        }
        "revenue" => {
            let provider = |r: &Value| r["provider"].as_str().unwrap_or_default().to_string();
            let (providers, collected) = summed(rows, provider, "collected");
            let series = [Series {
                name: "Collected".into(),
                values: collected,
            }];
            draw(
                "Collections by provider",
                Kind::Bars,
                &providers,
                &series,
                &currency(rows, "collected"),
            )
        }
        "commissions" => {
            let agent = |r: &Value| r["agent_name"].as_str().unwrap_or_default().to_string();
            let (agents, commission) = summed(rows, agent, "commission");
            let series = [Series {
                name: "Commission".into(),
                values: commission,
            }];
            draw(
                "Commission by agent",
                Kind::Bars,
                &agents,
                &series,
                &currency(rows, "commission"),
            )
        }
        _ => {
            let buckets = ["days_0_30", "days_31_60", "days_61_90", "days_over_90"];
            let labels: Vec<String> = ["0–30 days", "31–60 days", "61–90 days", "over 90 days"]
                .iter()
                .map(|l| (*l).to_string())
                .collect();
            let values = buckets
                .iter()
                .map(|b| Some(rows.iter().filter_map(|r| decimal(&r[*b])).sum()))
                .collect();
            let series = [Series {
                name: "Overdue".into(),
                values,
            }];
            draw(
                "Overdue premium by age",
                Kind::Bars,
                &labels,
                &series,
                &currency(rows, "total"),
            )
        }
    }
}

/// `GET /reports/{name}`, and `/reports/{name}.csv` (the download).
pub async fn show(
    console: Console,
    Segments(name): Segments<String>,
    RawQuery(query): RawQuery,
) -> Page {
    if let Some(name) = name.strip_suffix(".csv") {
        return csv(&console, name, query.as_deref()).await;
    }
    let report = found(&console, &name)?;
    let (api_query, shown) = filters(query.as_deref(), keys(report));
    let reply = console
        .send(Call::get(
            Some(&console.viewer),
            format!("/reports/{}?{api_query}", report.name),
        ))
        .await?;
    // A bad date or grouping is said on the page, beside the fields.
    let (body, problem, status) = if reply.ok() {
        (reply.body, None, StatusCode::OK)
    } else if reply.status == StatusCode::UNPROCESSABLE_ENTITY {
        let errors = reply.field_errors();
        (
            json!({"items": []}),
            Some(errors),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
    } else {
        return Err(console.refused(&reply));
    };
    let rows = body["items"].as_array().cloned().unwrap_or_default();
    let csv = format!("/reports/{}.csv?{api_query}", report.name);
    Ok(console.render_status(
        status,
        "report.html",
        json!({
            "section": "/reports",
            "report": {"name": report.name, "title": report.title, "summary": report.summary},
            "meta": body,
            "rows": rows,
            "chart": chart(report, &rows),
            "columns": columns(report),
            "groupings": if report.name == "ageing" { json!([{"value": "all", "label": "All"}, {"value": "product", "label": "Product"}]) } else { json!([{"value": "month", "label": "Month"}, {"value": "product", "label": "Product"}]) },
            "filters": shown,
            "errors": problem,
            "csv": csv,
        }),
    ))
}

/// The report's rows as CSV, as a download.
async fn csv(console: &Console, name: &str, query: Option<&str>) -> Page {
    let report = found(console, name)?;
    let (api_query, _) = filters(query, keys(report));
    let call = Call::get(
        Some(&console.viewer),
        format!("/reports/{}?{api_query}", report.name),
    )
    .header("accept", "text/csv");
    let mut response = super::downloads::pass_on_call(console, call).await?;
    let filename = format!("attachment; filename=\"{}-report.csv\"", report.name);
    if let Ok(value) = HeaderValue::from_str(&filename) {
        response.headers_mut().insert(CONTENT_DISPOSITION, value);
    }
    Ok(response)
}
