//! The auditor's desk (auditors and admins): the event stream with its
//! filters and every event's metadata; one aggregate's whole history with
//! its state at any version or instant (replayed by the command side's own
//! `apply`, through `GET /audit/{type}/{id}/state`) and what changed
//! between two versions; one business flow across aggregates; and the
//! integrity check. Everything here is read: nothing on these pages
//! changes anything.

use axum::extract::{Path, RawQuery};
use axum::http::StatusCode;
use chrono::{NaiveDate, NaiveDateTime};
use serde_json::{json, Map, Value};

use super::{filters, listing, Page};
use crate::console::client::Call;
use crate::console::context::Console;
use crate::console::forms::Form;
use crate::console::session::urlencode;

/// The aggregate types an auditor filters by.
const TYPES: [&str; 7] = [
    "Policy",
    "Invoice",
    "Claim",
    "Product",
    "User",
    "IntegrationConfig",
    "IntegrityAlarm",
];

/// The event stream, filtered as the API filters it; dates are whole UTC
/// days (**To** included).
pub async fn stream(console: Console, RawQuery(query): RawQuery) -> Page {
    let (kept, shown) = filters(
        query.as_deref(),
        &[
            "aggregate_type",
            "aggregate_id",
            "user_id",
            "correlation_id",
            "from",
            "to",
        ],
    );
    let mut errors = Map::new();
    // (The serializer is not `Send`: dropped before any await.)
    let query = {
        let mut query = form_urlencoded::Serializer::new(String::new());
        for (key, value) in form_urlencoded::parse(kept.as_bytes()) {
            let value = match key.as_ref() {
                "from" | "to" => match day_bounds(&value, key == "to") {
                    Some(instant) => instant,
                    None => {
                        errors.insert(key.to_string(), json!("Enter a date, e.g. 2026-12-01"));
                        continue;
                    }
                },
                _ => value.into_owned(),
            };
            query.append_pair(&key, &value);
        }
        query.finish()
    };
    let body = if errors.is_empty() {
        console.read(&format!("/audit/events?{query}")).await?
    } else {
        json!({"items": [], "next_cursor": null})
    };
    Ok(console.render_status(
        answered(&errors),
        "audit.html",
        json!({
            "section": "/audit",
            "list": listing(&body, &shown),
            "types": TYPES,
            "errors": errors,
        }),
    ))
}

/// A page's status: 422 when something typed is refused.
fn answered(errors: &Map<String, Value>) -> StatusCode {
    if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    }
}

/// A filter's date as the instant the API filters by: the start of that
/// UTC day, or for **To** (included) the start of the next.
fn day_bounds(text: &str, to: bool) -> Option<String> {
    let day = NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").ok()?;
    let day = if to { day.succ_opt()? } else { day };
    Some(format!("{day}T00:00:00Z"))
}

/// One aggregate: its history (a page at a time), its state at a version
/// or an instant, and what changed between two versions.
pub async fn aggregate(
    console: Console,
    Path((kind, id)): Path<(String, String)>,
    RawQuery(query): RawQuery,
) -> Page {
    let raw = query.unwrap_or_default();
    let form = Form::parse(raw.as_bytes());
    let target = format!("{}/{}", encode(&kind), encode(&id));
    let mut errors = Map::new();
    // The state: at a version, at an instant, or as it is now.
    let version = form.text("version");
    let at = form.text("at");
    let state_query = match (version.trim(), at.trim()) {
        ("", "") => String::new(),
        (v, "") => match v.parse::<u32>() {
            Ok(n) => format!("version={n}"),
            Err(_) => {
                errors.insert("version".into(), json!("Enter a whole number, e.g. 3"));
                String::new()
            }
        },
        ("", a) => match instant(a) {
            Some(t) => format!("as_of={}", encode(&t)),
            None => {
                errors.insert(
                    "at".into(),
                    json!("Enter a date and time, e.g. 2026-12-01T09:30"),
                );
                String::new()
            }
        },
        _ => {
            errors.insert("at".into(), json!("Give a version or a time, not both"));
            String::new()
        }
    };
    let reply = console
        .send(Call::get(
            Some(&console.viewer),
            format!("/audit/{target}/state?{state_query}"),
        ))
        .await?;
    // A history that fails its integrity check is not replayed: the page
    // says so and still lists the events as stored.
    let (state, problem) = match reply.status {
        _ if reply.ok() => (reply.body, None),
        StatusCode::CONFLICT => (Value::Null, Some(reply.detail())),
        _ => return Err(console.refused(&reply)),
    };
    let current = state["current_version"].as_i64().unwrap_or_default();
    // What changed between two versions.
    let (before, after) = (form.text("compare_from"), form.text("compare_to"));
    let mut changes = Value::Null;
    if problem.is_none() && (!before.trim().is_empty() || !after.trim().is_empty()) {
        let versions = (
            version_in("compare_from", &before, current, &mut errors),
            version_in("compare_to", &after, current, &mut errors),
        );
        if let (Some(a), Some(b)) = versions {
            let old = console
                .read(&format!("/audit/{target}/state?version={a}"))
                .await?;
            let new = console
                .read(&format!("/audit/{target}/state?version={b}"))
                .await?;
            changes = json!({
                "from": a,
                "to": b,
                "items": differences(&old["state"], &new["state"]),
            });
        }
    }
    // The history: the aggregate's events in order, a page at a time.
    let (history_query, shown) = filters(Some(&raw), &[]);
    let history = console
        .read(&format!(
            "/audit/events?aggregate_type={}&aggregate_id={}&{history_query}",
            encode(&kind),
            encode(&id)
        ))
        .await?;
    let mut values = Map::new();
    for name in ["version", "at", "compare_from", "compare_to"] {
        values.insert(name.into(), json!(form.text(name)));
    }
    let status = if problem.is_some() {
        StatusCode::CONFLICT
    } else {
        answered(&errors)
    };
    let path = format!("/audit/{target}");
    Ok(console.render_status(
        status,
        "audit_aggregate.html",
        json!({
            "section": "/audit",
            "kind": kind,
            "id": id,
            "path": path,
            "state": state,
            "changes": changes,
            "history": listing(&history, &shown),
            "form": {"values": values, "errors": errors, "problem": problem},
        }),
    ))
}

/// A version typed in a comparison, from 0 (before the first event) to the
/// current one.
fn version_in(
    field: &str,
    text: &str,
    current: i64,
    errors: &mut Map<String, Value>,
) -> Option<i64> {
    match text.trim().parse::<i64>() {
        Ok(n) if (0..=current).contains(&n) => Some(n),
        _ => {
            errors.insert(
                field.into(),
                json!(format!("Enter a version from 0 to {current}")),
            );
            None
        }
    }
}

/// A `datetime-local` value (UTC) as RFC 3339; an RFC 3339 timestamp as it
/// is.
fn instant(text: &str) -> Option<String> {
    if chrono::DateTime::parse_from_rfc3339(text).is_ok() {
        return Some(text.to_string());
    }
    ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"]
        .iter()
        .find_map(|format| NaiveDateTime::parse_from_str(text, format).ok())
        .map(|t| format!("{}Z", t.format("%Y-%m-%dT%H:%M:%S")))
}

/// What changed from `old` to `new`: each leaf's path (`ledger.paid_net`,
/// `terms[1].status`) with its value before and after (null: absent).
pub fn differences(old: &Value, new: &Value) -> Vec<Value> {
    let (mut before, mut after) = (Vec::new(), Vec::new());
    leaves(old, String::new(), &mut before);
    leaves(new, String::new(), &mut after);
    let before: std::collections::BTreeMap<_, _> = before.into_iter().collect();
    let after: std::collections::BTreeMap<_, _> = after.into_iter().collect();
    let mut paths: Vec<&String> = before.keys().chain(after.keys()).collect();
    paths.sort();
    paths.dedup();
    paths
        .into_iter()
        .filter(|p| before.get(*p) != after.get(*p))
        .map(|p| {
            json!({
                "path": p,
                "before": before.get(p).map(shown),
                "after": after.get(p).map(shown),
            })
        })
        .collect()
}

fn leaves(value: &Value, path: String, out: &mut Vec<(String, Value)>) {
    match value {
        Value::Object(map) if !map.is_empty() => {
            for (key, inner) in map {
                let path = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                leaves(inner, path, out);
            }
        }
        Value::Array(items) if !items.is_empty() => {
            for (i, inner) in items.iter().enumerate() {
                leaves(inner, format!("{path}[{i}]"), out);
            }
        }
        Value::Null => {}
        leaf => out.push((path, leaf.clone())),
    }
}

/// A leaf as text: strings as they are, anything else as JSON.
fn shown(value: &Value) -> String {
    value
        .as_str()
        .map_or_else(|| value.to_string(), str::to_string)
}

/// One business flow across aggregates, in order.
pub async fn correlation(console: Console, Path(id): Path<String>) -> Page {
    let flow = console
        .read(&format!("/audit/correlations/{}", encode(&id)))
        .await?;
    Ok(console.render(
        "audit_correlation.html",
        json!({"section": "/audit", "flow": flow}),
    ))
}

/// The integrity check, run when asked (**Verify integrity**: a GET form,
/// since it changes nothing), with the integrity alarms raised.
pub async fn verify(console: Console, RawQuery(query): RawQuery) -> Page {
    let form = Form::parse(query.unwrap_or_default().as_bytes());
    let result = if form.text("run").is_empty() {
        Value::Null
    } else {
        console.read("/audit/verify").await?
    };
    let alarms = console.read("/audit/alarms").await?;
    Ok(console.render(
        "audit_verify.html",
        json!({"section": "/audit", "result": result, "alarms": alarms["items"]}),
    ))
}

/// A path segment, percent-encoded (a space as `%20`, not `+`).
fn encode(text: &str) -> String {
    urlencode(text).replace('+', "%20")
}

/// Days and versions an auditor types, read as the API reads them.
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_day_filter_covers_the_whole_utc_day() {
        assert_eq!(
            day_bounds("2026-12-01", false).as_deref(),
            Some("2026-12-01T00:00:00Z")
        );
        assert_eq!(
            day_bounds("2026-12-31", true).as_deref(),
            Some("2027-01-01T00:00:00Z")
        );
        assert_eq!(day_bounds("1 Dec", false), None);
    }

    #[test]
    fn an_instant_is_read_as_utc() {
        assert_eq!(
            instant("2026-12-01T09:30").as_deref(),
            Some("2026-12-01T09:30:00Z")
        );
        assert_eq!(
            instant("2026-12-01T09:30:00+03:00").as_deref(),
            Some("2026-12-01T09:30:00+03:00")
        );
        assert_eq!(instant("yesterday"), None);
    }

    #[test]
    fn differences_name_each_changed_leaf_with_before_and_after() {
        let old = json!({"status": "approved", "ledger": {"paid": "0.00"}, "terms": [{"n": 1}]});
        let new = json!({"status": "active", "ledger": {"paid": "7500.00"},
                         "terms": [{"n": 1}, {"n": 2}], "start": null});
        assert_eq!(
            differences(&old, &new),
            vec![
                json!({"path": "ledger.paid", "before": "0.00", "after": "7500.00"}),
                json!({"path": "status", "before": "approved", "after": "active"}),
                json!({"path": "terms[1].n", "before": null, "after": "2"}),
            ]
        );
        assert!(differences(&new, &new).is_empty());
    }
}
