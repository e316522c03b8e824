//! The console's pages, one module per resource, each reading and
//! commanding through the API ([`crate::console::client`]).

pub mod applications;
pub mod audit;
pub mod auth;
pub mod claims;
pub mod customers;
pub mod dashboard;
pub mod downloads;
pub mod integrations;
pub mod invoices;
pub mod notifications;
pub mod policies;
pub mod products;
pub mod profile;
pub mod reports;
pub mod settings;
pub mod users;

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{json, Map, Value};

use super::client::Reply;
use super::context::Console;
use super::forms::Form;

/// What a page handler gives: the page, or the page shown instead (sign in,
/// 403, 404, 500).
pub type Page = Result<Response, Response>;

/// The filters of a list page this page passes on to the API (only `keys`,
/// and the cursor), as a query string, and the same as values for the
/// filter form.
pub fn filters(query: Option<&str>, keys: &[&str]) -> (String, Value) {
    let mut kept = Map::new();
    let mut pairs = form_urlencoded::Serializer::new(String::new());
    for (key, value) in form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        let value = value.trim();
        if value.is_empty() || kept.contains_key(key.as_ref()) {
            continue;
        }
        if keys.contains(&key.as_ref()) || key == "cursor" {
            pairs.append_pair(&key, value);
            kept.insert(key.into_owned(), json!(value));
        }
    }
    (pairs.finish(), Value::Object(kept))
}

/// The query string of the next page of a list: the filters with the
/// cursor the API gave.
pub fn next_page(filters: &Value, next_cursor: &Value) -> Option<String> {
    let cursor = next_cursor.as_str()?;
    let mut pairs = form_urlencoded::Serializer::new(String::new());
    if let Some(map) = filters.as_object() {
        for (key, value) in map {
            if key != "cursor" {
                pairs.append_pair(key, value.as_str().unwrap_or_default());
            }
        }
    }
    pairs.append_pair("cursor", cursor);
    Some(pairs.finish())
}

/// A list page's data: the items, the filters shown, the link to the next
/// page, and whether this is the first page.
pub fn listing(body: &Value, filters: &Value) -> Value {
    json!({
        "items": body["items"],
        "filters": filters,
        "next": next_page(filters, &body["next_cursor"]),
        "first": filters.get("cursor").is_none(),
    })
}

/// How a form the API refused is shown again: the message of each field,
/// what was typed, and the problem in words (a stale form, a rule).
pub fn refusal(form: &Form, reply: &Reply, fields: &[(&str, &str)]) -> Value {
    let mut errors = std::collections::BTreeMap::new();
    let mut unplaced = Vec::new();
    for (field, message) in reply.field_errors() {
        // The API's field names, mapped to the form's inputs.
        let input = fields
            .iter()
            .find(|(api, _)| *api == field || field.starts_with(&format!("{api}.")))
            .map(|(_, input)| (*input).to_string());
        match input {
            Some(input) => {
                errors.entry(input).or_insert(message);
            }
            None => unplaced.push(format!("{field}: {message}")),
        }
    }
    let mut shown = super::forms::again(form, &errors);
    let problem = match reply.status {
        _ if reply.body["code"] == "idempotency_key_reused" => Some(
            "This form was already sent with other values (from a page opened earlier): check the current state below and send it again."
                .to_string(),
        ),
        StatusCode::PRECONDITION_FAILED => Some(
            "This record changed since you opened the page: its current state is shown below. Check it and try again."
                .to_string(),
        ),
        StatusCode::UNPROCESSABLE_ENTITY if unplaced.is_empty() && !errors.is_empty() => None,
        StatusCode::UNPROCESSABLE_ENTITY if !unplaced.is_empty() => Some(unplaced.join("; ")),
        _ => Some(reply.detail()),
    };
    if let Some(problem) = problem {
        shown["problem"] = json!(problem);
    }
    shown
}

/// The status a page shown again after a refused form answers with.
pub fn refused_status(reply: &Reply) -> StatusCode {
    match reply.status {
        StatusCode::PRECONDITION_FAILED | StatusCode::CONFLICT => StatusCode::CONFLICT,
        StatusCode::FORBIDDEN => StatusCode::FORBIDDEN,
        status @ (StatusCode::TOO_MANY_REQUESTS
        | StatusCode::PAYLOAD_TOO_LARGE
        | StatusCode::UNSUPPORTED_MEDIA_TYPE) => status,
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    }
}

/// How a refused form is answered: `Ok` with the status of the page that
/// shows it again beside the form, or `Err` with the error page when the
/// refusal is not the form's (not found, signed out, our fault).
pub fn shown_again(console: &Console, reply: &Reply) -> Result<StatusCode, Response> {
    if shown_on_form(reply) {
        Ok(refused_status(reply))
    } else {
        Err(console.refused(reply))
    }
}

/// Whether a form's refusal is one the page shows beside the form (a
/// validation message, a rule, a stale version, a limit) rather than an
/// error page (not found, signed out, our fault).
pub fn shown_on_form(reply: &Reply) -> bool {
    matches!(
        reply.status,
        StatusCode::UNPROCESSABLE_ENTITY
            | StatusCode::CONFLICT
            | StatusCode::PRECONDITION_FAILED
            | StatusCode::FORBIDDEN
            | StatusCode::TOO_MANY_REQUESTS
            | StatusCode::PAYLOAD_TOO_LARGE
            | StatusCode::UNSUPPORTED_MEDIA_TYPE
            | StatusCode::BAD_REQUEST
    )
}

/// Checks the form's CSRF token first: the 403 page without it.
///
/// # Errors
/// The 403 page.
pub fn guarded(console: &Console, form: &Form) -> Result<(), Response> {
    if form.csrf_ok(&console.viewer) {
        Ok(())
    } else {
        Err(console.forbidden())
    }
}

/// A money value `{amount, currency}` from a form's decimal and a
/// currency.
pub fn money(amount: &str, currency: &str) -> Value {
    json!({"amount": amount.trim().replace([',', ' '], ""), "currency": currency})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_list_passes_on_only_its_filters_and_the_cursor() {
        let (query, shown) = filters(
            Some("status=open&evil=1&cursor=abc&status=paid&customer_id="),
            &["status", "customer_id"],
        );
        assert_eq!(query, "status=open&cursor=abc");
        assert_eq!(shown, json!({"status": "open", "cursor": "abc"}));
        assert_eq!(
            next_page(&shown, &json!("def")).as_deref(),
            Some("status=open&cursor=def")
        );
        assert_eq!(next_page(&shown, &Value::Null), None);
    }

    #[test]
    fn amounts_typed_with_separators_are_read_as_decimals() {
        assert_eq!(
            money(" 1,250,000.50 ", "KES"),
            json!({"amount": "1250000.50", "currency": "KES"})
        );
    }
}
