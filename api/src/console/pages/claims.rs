//! Claims: the list (for staff the queue, filtered by status and
//! assignee), filing a claim, and one claim with its documents (upload
//! with the API's size and type rules), notes (internal or visible to the
//! customer), timeline and the staff's actions: **Assign to me**,
//! **Approve** within authority (and confirming a colleague's approval),
//! **Reject**, **Pay out**, **Close**, **Reopen**.

use axum::extract::{Multipart, Query, RawQuery};
use axum::http::StatusCode;
use domain::Role;
use serde::Deserialize;
use serde_json::{json, Value};
use uuid::Uuid;

use super::applications::customer_of;
use super::{
    filters, guarded, listing, money, refusal, refused_status, shown_again, shown_on_form, Page,
};
use crate::console::client::{Call, Reply};
use crate::console::context::Console;
use crate::console::errors::Segments;
use crate::console::forms::Form;

/// Who decides claims.
const DECIDERS: [Role; 2] = [Role::Staff, Role::Admin];
/// Who files claims and adds documents.
const CLAIMANTS: [Role; 4] = [Role::Customer, Role::Agent, Role::Staff, Role::Admin];

/// The statuses a claim list filters by.
const STATUSES: [&str; 6] = [
    "submitted",
    "under_review",
    "approved",
    "rejected",
    "paid",
    "closed",
];

/// The largest document the API takes (10 MiB), and the form around it.
pub const UPLOAD_LIMIT: usize = 10 * 1024 * 1024 + 64 * 1024;

pub async fn list(console: Console, RawQuery(query): RawQuery) -> Page {
    let (mut query, mut shown) = filters(
        query.as_deref(),
        &["status", "assignee", "policy_id", "customer_id"],
    );
    // "Assignee: me" is the viewer, as the API names them.
    if shown["assignee"] == "me" {
        query = query.replace(
            "assignee=me",
            &format!("assignee_id={}", console.viewer.user_id),
        );
    } else if let Some(map) = shown.as_object_mut() {
        if map.remove("assignee").is_some() {
            query = query
                .split('&')
                .filter(|pair| !pair.starts_with("assignee="))
                .collect::<Vec<_>>()
                .join("&");
        }
    }
    let body = console.read(&format!("/claims?{query}")).await?;
    Ok(console.render(
        "claims.html",
        json!({
            "section": "/claims",
            "list": listing(&body, &shown),
            "statuses": STATUSES,
            "staff": DECIDERS.contains(&console.viewer.role),
            "may_file": CLAIMANTS.contains(&console.viewer.role),
        }),
    ))
}

#[derive(Deserialize, Default)]
pub struct NewQuery {
    policy_id: Option<String>,
}

async fn new_page(console: &Console, form: Value, status: StatusCode) -> Page {
    console.require(&CLAIMANTS)?;
    let policies = console
        .read("/policies/policies?status=active&limit=200")
        .await?;
    let mut options: Vec<Value> = policies["items"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| {
            json!({"value": p["id"], "label": format!("{} ({}, {})",
                p["policy_number"].as_str().unwrap_or_default(),
                p["product_name"].as_str().unwrap_or_default(),
                crate::console::render::money_text(&p["sum_insured"]))})
        })
        .collect();
    // A policy chosen from its page stays a choice when the list is long.
    if let Some(chosen) = form["values"]["policy_id"].as_str() {
        if !options.iter().any(|o| o["value"] == chosen) {
            if let Ok(p) = console.read(&format!("/policies/policies/{chosen}")).await {
                options.insert(
                    0,
                    json!({"value": chosen, "label": format!("{} ({})",
                    p["policy_number"].as_str().unwrap_or_default(),
                    p["product_name"].as_str().unwrap_or_default())}),
                );
            }
        }
    }
    Ok(console.render_status(
        status,
        "claim_new.html",
        json!({"section": "/claims", "policies": options, "form": form, "today": console.state.clock.today()}),
    ))
}

pub async fn new_form(console: Console, Query(query): Query<NewQuery>) -> Page {
    let form = json!({"values": {"policy_id": query.policy_id}, "errors": {}});
    new_page(&console, form, StatusCode::OK).await
}

/// `POST /claims/new`: files the claim, in the policy's currency.
pub async fn file(console: Console, form: Form) -> Page {
    guarded(&console, &form)?;
    let policy_id = form.text("policy_id");
    let currency = match form.get("policy_id") {
        Some(policy) => console
            .read(&format!("/policies/policies/{policy}"))
            .await
            .ok()
            .and_then(|p| p["sum_insured"]["currency"].as_str().map(str::to_string)),
        None => None,
    };
    let Some(currency) = currency else {
        let mut errors = std::collections::BTreeMap::new();
        errors.insert(
            "policy_id".to_string(),
            "Choose the policy the claim is on".to_string(),
        );
        return new_page(
            &console,
            crate::console::forms::again(&form, &errors),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    };
    let body = json!({
        "policy_id": policy_id,
        "incident_date": form.text("incident_date"),
        "description": form.text("description"),
        "claimed_amount": money(&form.text("claimed_amount"), &currency),
    });
    let reply = console
        .send(Call::post(Some(&console.viewer), "/claims", &body).from_form(&form))
        .await?;
    if reply.ok() {
        let id = reply.body["id"].as_str().unwrap_or_default();
        return Ok(console.done(&format!("/claims/{id}"), "Claim submitted"));
    }
    let status = shown_again(&console, &reply)?;
    let shown = refusal(
        &form,
        &reply,
        &[
            ("policy_id", "policy_id"),
            ("incident_date", "incident_date"),
            ("description", "description"),
            ("claimed_amount", "claimed_amount"),
        ],
    );
    new_page(&console, shown, status).await
}

async fn claim_page(console: &Console, id: Uuid, forms: Value, status: StatusCode) -> Page {
    let claim = console.read(&format!("/claims/{id}")).await?;
    let customer = customer_of(console, &claim["customer_id"]).await;
    let role = console.viewer.role;
    let decider = DECIDERS.contains(&role);
    let mine = claim["assignee_id"].as_str() == Some(console.viewer.user_id.to_string().as_str());
    let pending_by_other = claim["pending_approval"].is_object()
        && claim["pending_approval"]["proposed_by"].as_str()
            != Some(console.viewer.user_id.to_string().as_str());
    Ok(console.render_status(
        status,
        "claim.html",
        json!({
            "section": "/claims",
            "claim": claim,
            "customer": customer,
            "decider": decider,
            "assigned_to_me": mine,
            "may_confirm": decider && pending_by_other,
            "may_upload": CLAIMANTS.contains(&role),
            "forms": forms,
        }),
    ))
}

pub async fn show(console: Console, Segments(id): Segments<Uuid>) -> Page {
    claim_page(&console, id, json!({}), StatusCode::OK).await
}

/// A claim action as the API takes it.
struct Action {
    /// Its body.
    body: Value,
    /// The flash message when it succeeds.
    flash: &'static str,
    /// The API's fields and the form inputs their messages go to.
    fields: &'static [(&'static str, &'static str)],
}

impl Action {
    fn new(
        body: Value,
        flash: &'static str,
        fields: &'static [(&'static str, &'static str)],
    ) -> Self {
        Self {
            body,
            flash,
            fields,
        }
    }
}

/// The API request of a claim action from its form.
fn action_request(console: &Console, claim: &Value, action: &str, form: &Form) -> Option<Action> {
    let currency = claim["claimed_amount"]["currency"]
        .as_str()
        .unwrap_or_default();
    let reason = || match form.get("reason") {
        Some(reason) => json!({"reason": reason.trim()}),
        None => json!({}),
    };
    Some(match action {
        "assign" => Action::new(
            json!({"assignee_id": console.viewer.user_id}),
            "Claim assigned to you",
            &[],
        ),
        "approve" => Action::new(
            json!({"approved_amount": money(&form.text("approved_amount"), currency)}),
            "Claim approved",
            &[("approved_amount", "approved_amount")],
        ),
        "confirm" => Action::new(
            json!({"subject": form.get("subject").unwrap_or("approval")}),
            "Approval confirmed",
            &[],
        ),
        "reject" => Action::new(
            json!({"reason": form.text("reason")}),
            "Claim rejected",
            &[("reason", "reason")],
        ),
        "pay" => Action::new(
            json!({}),
            "Payout requested: the claim is paid once the provider confirms",
            &[],
        ),
        "close" => Action::new(reason(), "Claim closed", &[("reason", "reason")]),
        "reopen" => Action::new(reason(), "Claim reopened", &[("reason", "reason")]),
        "notes" => Action::new(
            json!({"text": form.text("text"), "internal": !form.ticked("visible_to_customer")}),
            "Note added",
            &[("text", "text")],
        ),
        _ => return None,
    })
}

/// `POST /claims/{id}/{action}`.
pub async fn act(
    console: Console,
    Segments((id, action)): Segments<(Uuid, String)>,
    form: Form,
) -> Page {
    guarded(&console, &form)?;
    let claim = console.read(&format!("/claims/{id}")).await?;
    let Some(Action {
        body,
        flash,
        fields,
    }) = action_request(&console, &claim, &action, &form)
    else {
        return Err(console.error(StatusCode::NOT_FOUND));
    };
    let mut call = Call::post(
        Some(&console.viewer),
        format!("/claims/{id}/{action}"),
        &body,
    )
    .from_form(&form);
    if action == "notes" {
        // A note changes nothing a decision rests on: no version check.
        call = Call::post(Some(&console.viewer), format!("/claims/{id}/notes"), &body);
        if let Some(key) = form.get("idempotency_key") {
            call = call.header("idempotency-key", key);
        }
    }
    let reply = console.send(call).await?;
    finish(&console, id, &action, &form, &reply, flash, fields).await
}

async fn finish(
    console: &Console,
    id: Uuid,
    action: &str,
    form: &Form,
    reply: &Reply,
    flash: &str,
    fields: &[(&str, &str)],
) -> Page {
    if reply.ok() {
        let flash = if action == "approve" && reply.body["pending_approval"].is_object() {
            "Approval proposed: above the dual-control limit, a second reviewer confirms it"
        } else {
            flash
        };
        return Ok(console.done(&format!("/claims/{id}"), flash));
    }
    let status = shown_again(console, reply)?;
    let forms = json!({ action: refusal(form, reply, fields) });
    claim_page(console, id, forms, status).await
}

/// A multipart body with one file in field `file`, as the API takes it.
fn multipart_body(filename: &str, content_type: &str, bytes: &[u8]) -> (String, Vec<u8>) {
    let boundary = format!("ifinsure-{}", uuid::Uuid::new_v4().simple());
    let safe_name: String = filename
        .chars()
        .filter(|c| !matches!(c, '"' | '\r' | '\n' | '\\'))
        .collect();
    let mut body = Vec::with_capacity(bytes.len() + 256);
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{safe_name}\"\r\nContent-Type: {content_type}\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// A document read from the upload form: its name, type and bytes, with
/// the form's tokens; or what went wrong reading it.
struct Upload {
    form: Form,
    file: Option<(String, String, Vec<u8>)>,
    problem: Option<String>,
}

async fn read_upload(mut multipart: Multipart) -> Upload {
    let mut fields = Vec::new();
    let mut file = None;
    let mut problem = None;
    loop {
        match multipart.next_field().await {
            Ok(Some(field)) => {
                let name = field.name().unwrap_or_default().to_string();
                if name == "document" {
                    let filename = field.file_name().unwrap_or("document").to_string();
                    let content_type = field
                        .content_type()
                        .unwrap_or("application/octet-stream")
                        .to_string();
                    match field.bytes().await {
                        Ok(bytes) if bytes.is_empty() => {}
                        Ok(bytes) => file = Some((filename, content_type, bytes.to_vec())),
                        Err(_) => {
                            problem = Some(
                                "The document is larger than 10 MiB: send a smaller file."
                                    .to_string(),
                            );
                            break;
                        }
                    }
                } else if let Ok(value) = field.text().await {
                    fields.push((name, value));
                }
            }
            Ok(None) => break,
            Err(_) => {
                problem =
                    Some("The document is larger than 10 MiB: send a smaller file.".to_string());
                break;
            }
        }
    }
    let encoded: String = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .finish();
    Upload {
        form: Form::parse(encoded.as_bytes()),
        file,
        problem,
    }
}

/// `POST /claims/{id}/documents`: a photo or PDF for the claim.
pub async fn upload(
    console: Console,
    Segments(id): Segments<Uuid>,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Page {
    // Not a multipart form at all: not sent from our page.
    let Ok(multipart) = multipart else {
        return Err(console.error(StatusCode::BAD_REQUEST));
    };
    let upload = read_upload(multipart).await;
    guarded(&console, &upload.form)?;
    let refuse = |message: String| {
        let mut errors = std::collections::BTreeMap::new();
        errors.insert("document".to_string(), message);
        json!({"document": crate::console::forms::again(&upload.form, &errors)})
    };
    if let Some(problem) = upload.problem.clone() {
        return claim_page(&console, id, refuse(problem), StatusCode::PAYLOAD_TOO_LARGE).await;
    }
    let Some((filename, content_type, bytes)) = upload.file.as_ref() else {
        return claim_page(
            &console,
            id,
            refuse("Choose a file to upload".into()),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    };
    let (content_type, body) = multipart_body(filename, content_type, bytes);
    let mut call = Call::new(
        axum::http::Method::POST,
        Some(&console.viewer),
        format!("/claims/{id}/documents"),
    )
    .raw(&content_type, body);
    if let Some(key) = upload.form.get("idempotency_key") {
        call = call.header("idempotency-key", key);
    }
    let reply = console.send(call).await?;
    if reply.ok() {
        return Ok(console.done(&format!("/claims/{id}"), "Document uploaded"));
    }
    let message = match reply.status {
        StatusCode::PAYLOAD_TOO_LARGE => {
            "The document is larger than 10 MiB: send a smaller file.".to_string()
        }
        StatusCode::UNSUPPORTED_MEDIA_TYPE => {
            "Only PDF, JPEG and PNG files can be uploaded: this file is none of them.".to_string()
        }
        _ if shown_on_form(&reply) => reply
            .field_errors()
            .into_values()
            .next()
            .unwrap_or_else(|| reply.detail()),
        _ => return Err(console.refused(&reply)),
    };
    claim_page(&console, id, refuse(message), refused_status(&reply)).await
}
