//! The OpenAPI 3.1 document of the API, served at `/api/v1/openapi.json`.
//!
//! Written by hand next to the routes; a test checks that every route the
//! router serves is described here.

use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Map, Value};

use crate::state::AppState;

mod claims;
mod integrations;
mod lifecycle;

/// The route.
pub fn router() -> Router<AppState> {
    Router::new().route("/openapi.json", get(|| async { Json(document()) }))
}

/// Every (method, path) the API serves under `/api/v1`.
pub const OPERATIONS: &[(&str, &str)] = &[
    ("post", "/auth/register"),
    ("post", "/auth/login"),
    ("post", "/auth/refresh"),
    ("post", "/auth/logout"),
    ("post", "/auth/password-reset"),
    ("post", "/auth/password-reset/confirm"),
    ("get", "/auth/me"),
    ("patch", "/auth/me"),
    ("post", "/auth/password"),
    ("post", "/users"),
    ("get", "/users"),
    ("get", "/users/{id}"),
    ("post", "/users/{id}/deactivate"),
    ("post", "/users/{id}/reactivate"),
    ("post", "/users/{id}/role"),
    ("get", "/customers"),
    ("get", "/customers/{id}"),
    ("post", "/customers/{id}/assign-agent"),
    ("get", "/agents"),
    ("post", "/policies/products"),
    ("get", "/policies/products"),
    ("get", "/policies/products/{id}"),
    ("get", "/policies/products/{id}/quote"),
    ("post", "/policies/products/{id}/reprice"),
    ("post", "/policies/products/{id}/commission"),
    ("post", "/policies/products/{id}/retire"),
    ("post", "/policies/applications"),
    ("get", "/policies/applications"),
    ("get", "/policies/applications/{id}"),
    ("post", "/policies/applications/{id}/approve"),
    ("post", "/policies/applications/{id}/reject"),
    ("get", "/policies/policies"),
    ("get", "/policies/policies/{id}"),
    ("post", "/policies/policies/{id}/endorse"),
    ("post", "/policies/policies/{id}/cancel"),
    ("post", "/policies/policies/{id}/renew"),
    ("get", "/policies/policies/{id}/cancellation-quote"),
    ("get", "/policies/policies/{id}/certificate.pdf"),
    ("get", "/billing/invoices"),
    ("get", "/billing/invoices/{id}"),
    ("post", "/billing/invoices/{id}/pay"),
    ("get", "/billing/invoices/{id}/payment-options"),
    ("post", "/billing/invoices/{id}/void"),
    ("get", "/billing/payments"),
    ("get", "/billing/payments/{id}"),
    ("get", "/billing/invoices/{id}/invoice.pdf"),
    ("get", "/billing/payments/{id}/receipt.pdf"),
    ("get", "/customers/{id}/statement"),
    ("get", "/customers/{id}/statement.pdf"),
    ("post", "/webhooks/{provider}"),
    ("post", "/claims"),
    ("get", "/claims"),
    ("get", "/claims/{id}"),
    ("patch", "/claims/{id}"),
    ("post", "/claims/{id}/documents"),
    ("get", "/claims/{id}/documents/{doc_id}"),
    ("get", "/claims/{id}/summary.pdf"),
    ("post", "/claims/{id}/notes"),
    ("post", "/claims/{id}/assign"),
    ("post", "/claims/{id}/reserve"),
    ("post", "/claims/{id}/approve"),
    ("post", "/claims/{id}/reject"),
    ("post", "/claims/{id}/pay"),
    ("post", "/claims/{id}/payee"),
    ("post", "/claims/{id}/confirm"),
    ("post", "/claims/{id}/close"),
    ("post", "/claims/{id}/reopen"),
    ("get", "/integrations/categories"),
    ("get", "/integrations/providers"),
    ("post", "/integrations/configs"),
    ("get", "/integrations/configs"),
    ("get", "/integrations/configs/{id}"),
    ("patch", "/integrations/configs/{id}"),
    ("post", "/integrations/configs/{id}/toggle"),
    ("post", "/integrations/configs/{id}/test"),
    ("get", "/integrations/logs"),
    ("get", "/integrations/webhooks"),
    ("get", "/integrations/webhooks/{id}"),
    ("get", "/notifications"),
    ("get", "/me/notifications"),
    ("get", "/me/notification-preferences"),
    ("get", "/admin/dead-letters"),
    ("post", "/admin/dead-letters/{id}/retry"),
    ("put", "/me/notification-preferences"),
    ("get", "/settings"),
    ("put", "/settings/{section}"),
    ("get", "/reports/policies"),
    ("get", "/reports/claims"),
    ("get", "/reports/revenue"),
    ("get", "/reports/commissions"),
    ("get", "/reports/ageing"),
    ("get", "/reports/claims/queue"),
    ("get", "/reports/dashboard"),
    ("get", "/audit/events"),
    ("get", "/audit/verify"),
    ("get", "/audit/alarms"),
    ("post", "/audit/alarms/{id}/acknowledge"),
    ("get", "/audit/correlations/{id}"),
    ("get", "/audit/{aggregate_type}/{id}/state"),
    ("get", "/unsubscribe"),
    ("post", "/unsubscribe"),
    ("get", "/health"),
    ("get", "/health/db"),
    ("get", "/health/workers"),
    ("get", "/health/integrations"),
    ("get", "/metrics"),
    ("get", "/openapi.json"),
];

/// Paths whose request body may be left out.
const OPTIONAL_BODY: [&str; 6] = ["/retire", "/pay", "/void", "/renew", "/close", "/toggle"];

pub(crate) fn money() -> Value {
    json!({"$ref": "#/components/schemas/Money"})
}

pub(crate) fn schema_ref(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

pub(crate) struct Op {
    summary: &'static str,
    roles: &'static str,
    body: Option<Value>,
    status: &'static str,
    response: Value,
}

pub(crate) fn op(
    summary: &'static str,
    roles: &'static str,
    body: Option<Value>,
    status: &'static str,
    response: Value,
) -> Op {
    Op {
        summary,
        roles,
        body,
        status,
        response,
    }
}

fn operation(method: &str, path: &str) -> Op {
    let user = schema_ref("User");
    let product = schema_ref("Product");
    let tokens = schema_ref("TokenPair");
    let list = |item: Value| json!({"type": "object", "properties": {"items": {"type": "array", "items": item}, "next_cursor": {"type": ["string", "null"]}}});
    let refresh = json!({"type": "object", "required": ["refresh_token"], "properties": {"refresh_token": {"type": "string"}}});
    let ok = json!({"type": "object"});
    if let Some(op) = lifecycle::operation(method, path)
        .or_else(|| claims::operation(method, path))
        .or_else(|| integrations::operation(method, path))
    {
        return op;
    }
    match (method, path) {
        ("post", "/auth/register") => op(
            "Register a customer account",
            "anyone",
            Some(schema_ref("Registration")),
            "201",
            user,
        ),
        ("post", "/auth/login") => op(
            "Log in; 5 failures lock the account for 15 minutes (429 account_locked)",
            "anyone",
            Some(
                json!({"type": "object", "required": ["email", "password"], "properties": {"email": {"type": "string"}, "password": {"type": "string"}}}),
            ),
            "200",
            tokens,
        ),
        ("post", "/auth/refresh") => op(
            "Rotate a refresh token; reusing a spent one revokes its family",
            "anyone",
            Some(refresh),
            "200",
            tokens,
        ),
        ("post", "/auth/logout") => op(
            "Revoke a refresh token's family",
            "user",
            Some(refresh),
            "204",
            ok,
        ),
        ("post", "/auth/password-reset") => op(
            "Ask for a password reset: always 202 {}, whether or not the address has an account; a known account is emailed a single-use token valid 30 minutes",
            "anyone",
            Some(json!({"type": "object", "required": ["email"], "properties": {"email": {"type": "string"}}})),
            "202",
            json!({"type": "object"}),
        ),
        ("post", "/auth/password-reset/confirm") => op(
            "Set a new password with a reset token (password policy applies); every refresh token is revoked. 422 on token when it is invalid, used or expired",
            "anyone",
            Some(json!({"type": "object", "required": ["token", "new_password"], "properties": {"token": {"type": "string"}, "new_password": {"type": "string"}}})),
            "204",
            json!({"type": "null"}),
        ),
        ("get", "/auth/me") => op("The caller's account", "user", None, "200", user),
        ("patch", "/auth/me") => op(
            "Change the caller's name or phone number (a phone of \"\" or null removes it): a ProfileUpdated event on the user; 422 with the field at fault",
            "user",
            Some(json!({"type": "object", "properties": {"full_name": {"type": "string"}, "phone_number": {"type": ["string", "null"]}}})),
            "200",
            user,
        ),
        ("post", "/auth/password") => op(
            "Change the caller's password: the current one checked (a wrong one is 422 on current_password and counts towards the lockout), the new one by the registration's policy (422 on new_password); every other session of the caller ends (its refresh tokens revoked, its access tokens refused within a second); a PasswordChanged event",
            "user",
            Some(json!({"type": "object", "required": ["current_password", "new_password"], "properties": {"current_password": {"type": "string"}, "new_password": {"type": "string"}}})),
            "204",
            json!({"type": "null"}),
        ),
        ("post", "/users") => op(
            "Create a user with any role",
            "admin",
            Some(schema_ref("NewUser")),
            "201",
            user,
        ),
        ("get", "/users") => op(
            "List users (?role=, ?limit=, ?cursor=)",
            "admin",
            None,
            "200",
            list(user),
        ),
        ("get", "/users/{id}") => op("One user", "admin", None, "200", user),
        ("post", "/users/{id}/deactivate") => op(
            "Deactivate a user: they cannot sign in, their refresh tokens are revoked and their access tokens stop working within a second (a UserDeactivated event naming the admin); not one's own account (409); twice changes nothing",
            "admin",
            Some(
                json!({"type": "object", "properties": {"reason": {"type": "string", "maxLength": 500}}}),
            ),
            "200",
            user.clone(),
        ),
        ("post", "/users/{id}/reactivate") => op(
            "Reactivate a user: they may sign in again (their old sessions stay ended)",
            "admin",
            None,
            "200",
            user.clone(),
        ),
        ("post", "/users/{id}/role") => op(
            "Give a user another role (a RoleChanged event naming the admin); their current sessions stop working and the next sign-in carries the new role; not one's own (409 own_account); an agent who still serves customers (409 agent_serves_customers) or a customer who holds applications or policies (409 customer_holds_policies) keeps the role; the same role changes nothing",
            "admin",
            Some(
                json!({"type": "object", "required": ["role"], "properties": {"role": {"type": "string", "enum": ["customer", "agent", "staff", "admin", "auditor"]}}}),
            ),
            "200",
            user.clone(),
        ),
        ("get", "/customers") => op(
            "Customers: an agent's own (assigned to them), everyone's for staff, admin and auditor; ?q= finds by name, email or phone (at most 100 characters); ?limit=, ?cursor=",
            "agent, staff, admin, auditor",
            None,
            "200",
            list(user.clone()),
        ),
        ("get", "/customers/{id}") => op(
            "One customer (404 for an agent when not theirs)",
            "agent, staff, admin, auditor",
            None,
            "200",
            user.clone(),
        ),
        ("get", "/agents") => op(
            "The agents a customer can be assigned to (?limit=, ?cursor=)",
            "staff, admin",
            None,
            "200",
            list(user.clone()),
        ),
        ("post", "/customers/{id}/assign-agent") => op(
            "Assign an agent to a customer",
            "staff, admin",
            Some(
                json!({"type": "object", "required": ["agent_id"], "properties": {"agent_id": {"type": "string", "format": "uuid"}}}),
            ),
            "200",
            user,
        ),
        ("post", "/policies/products") => op(
            "Define a product",
            "admin",
            Some(schema_ref("NewProduct")),
            "201",
            product,
        ),
        ("get", "/policies/products") => op(
            "List products (?status=, ?line=, ?currency=, ?limit=, ?cursor=)",
            "any user",
            None,
            "200",
            list(product),
        ),
        ("get", "/policies/products/{id}") => op("One product", "any user", None, "200", product),
        ("get", "/policies/products/{id}/quote") => op(
            "What an application would be quoted, nothing recorded: ?sum_insured=<amount in the product's currency>&start_date=<YYYY-MM-DD, default today> → {product_id, premium, sum_insured, start_date, end_date, rate}; 422 (sum_insured, start_date) as applying would refuse: outside the product's range, too far back or ahead; 404 for an unknown product",
            "any user",
            None,
            "200",
            json!({"type": "object", "required": ["premium", "sum_insured", "start_date", "end_date", "rate"]}),
        ),
        ("post", "/policies/products/{id}/reprice") => op(
            "Reprice a product (new applications only)",
            "admin",
            Some(
                json!({"type": "object", "required": ["rate", "minimum_premium"], "properties": {"rate": {"type": "string", "example": "0.035"}, "minimum_premium": money()}}),
            ),
            "200",
            product,
        ),
        ("post", "/policies/products/{id}/commission") => op(
            "Set the commission its agents earn on premium paid, from today's business date (0 <= rate < 1; allowed on a retired product, whose policies still pay). Each payment keeps the rate of its day; a refund takes back commission at its payment's rate",
            "admin",
            Some(json!({"type": "object", "required": ["rate"], "properties": {"rate": {"type": "string", "example": "0.10"}}})),
            "200",
            product,
        ),
        ("post", "/policies/products/{id}/retire") => op(
            "Retire a product (body optional)",
            "admin",
            Some(json!({"type": "object", "properties": {"reason": {"type": "string"}}})),
            "200",
            product,
        ),
        ("get", "/health") => op("Process is up", "anyone", None, "200", ok),
        ("get", "/health/db") => op("Database reachable (503 if not)", "anyone", None, "200", ok),
        ("get", "/health/workers") => op(
            "Each subscription's checkpoint, lag and open dead letters; each queue worker's (notifications, payments) jobs queued, in flight, retrying and dead; status `degraded` while a dead letter is open",
            "anyone",
            None,
            "200",
            ok,
        ),
        ("get", "/notifications") => op(
            "The notification log, newest first: items {id, event_id, template, channel, recipient, subject, status (queued, sent, then delivered or failed as the provider reports; dead), attempts, last_error, provider, provider_message_id, created_at, sent_at, delivered_at, delivery_detail}; filters ?recipient=, ?template=, ?channel=, ?status=",
            "staff, admin",
            None,
            "200",
            ok.clone(),
        ),
        ("get", "/me/notifications") => op(
            "The caller's own notifications (same items and filters as /notifications)",
            "any user",
            None,
            "200",
            ok.clone(),
        ),
        ("get", "/admin/dead-letters") => op(
            "Jobs a worker gave up on (a refusal, or retries exhausted) and not yet re-driven: items {id, worker, job_id, event_id, error, attempts, created_at, retried_at}, newest first",
            "admin",
            None,
            "200",
            ok.clone(),
        ),
        ("post", "/admin/dead-letters/{id}/retry") => op(
            "Re-drive a dead letter (202): a queue job (notifications, payments) goes back in its queue with fresh attempts; a subscription's event is handled again by that subscription (a failure opens the letter again); 404 if unknown or already re-driven",
            "admin",
            None,
            "202",
            ok.clone(),
        ),
        ("get", "/me/notification-preferences") => op(
            "The caller's notification preferences {email: {reminders, marketing}, sms: {reminders, marketing}}; reminders on and marketing off by default",
            "any user",
            None,
            "200",
            ok.clone(),
        ),
        ("put", "/me/notification-preferences") => op(
            "Replace the caller's preferences (every field required). Reminders (policy expiring, invoice overdue) follow them per channel; transactional notices always go",
            "any user",
            Some(json!({"type": "object", "required": ["email", "sms"], "properties": {
                "email": {"type": "object", "required": ["reminders", "marketing"], "properties": {"reminders": {"type": "boolean"}, "marketing": {"type": "boolean"}}},
                "sms": {"type": "object", "required": ["reminders", "marketing"], "properties": {"reminders": {"type": "boolean"}, "marketing": {"type": "boolean"}}}}})),
            "200",
            ok.clone(),
        ),
        ("get", "/settings") => op(
            "The settings in force: {general: {company_name, default_currency, business_utc_offset_minutes, support_email, support_phone}, branding: {brand_name, logo_url, primary_colour}, email: {from_name, from_address, reply_to, footer}, security: {password_min_length, lockout_threshold, lockout_minutes, session_idle_minutes, access_token_ttl_secs}, saved_sections, version}. Admins see every section; anyone else signed in general and branding. A section never saved shows the environment's values",
            "any user (admin: all sections)",
            None,
            "200",
            ok.clone(),
        ),
        ("put", "/settings/{section}") => op(
            "Save one section (general, branding, email, security): the fields sent replace those in force, a field left out keeps its value; validated as a whole (422 naming each field: a colour not #rrggbb, a logo URL not https, a lockout threshold of 0, a password minimum under 12, ...); recorded as a SettingsChanged event naming the fields changed; If-Match on the settings' version; in force in this process at once and in every other within a second. Answers with every setting",
            "admin",
            Some(json!({"type": "object", "additionalProperties": true})),
            "200",
            ok.clone(),
        ),
        ("get", "/audit/events") => op(
            "The global event stream in order, each event with its metadata (user, role, request, correlation and causation ids, client IP, provider delivery id): ?aggregate_type=&aggregate_id=&user_id=&correlation_id=&from=&to=&after_position=&limit= → {items: [{position, aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata, recorded_at}], next_cursor} (pass next_cursor as after_position). With Accept: application/x-ndjson the whole range streams, one event per line",
            "auditor, admin",
            None,
            "200",
            ok.clone(),
        ),
        ("get", "/reports/policies") => op(
            "Premium written, earned (pro rata by day, rounded once per charge) and unearned (the reserve at each group's last day): ?from=&to= (dates; default the business year to today), ?group_by=month|product → {from, to, group_by, items: [{group, policies, written, earned, unearned}]}; Accept: text/csv gives the same rows as CSV (group,currency,policies,written,earned,unearned)",
            "staff, admin, auditor",
            None,
            "200",
            ok.clone(),
        ),
        ("get", "/reports/claims") => op(
            "Claims reported, incurred (approvals less approved amounts released at closing), paid, outstanding (approved, not yet paid, at each group's last day), case reserves (what open claims' reserves exceed their approved totals, at each group's last day) and the loss ratio (incurred ÷ earned premium, 4 places, null when nothing was earned), counted on business dates: ?from=&to=&group_by=month|product → {from, to, group_by, items: [{group, reported, incurred, paid, outstanding, case_reserves, earned, loss_ratio}]}; Accept: text/csv (group,currency,reported,incurred,paid,outstanding,case_reserves,earned,loss_ratio)",
            "staff, admin, auditor",
            None,
            "200",
            ok.clone(),
        ),
        ("get", "/reports/revenue") => op(
            "Collections by provider: payments requested (and still pending), succeeded, failed, the success rate (succeeded ÷ settled, 4 places), collected, refunded and net: ?from=&to=&group_by=month|product → {from, to, group_by, items: [{group, provider, requested, pending, succeeded, failed, success_rate, collected, refunded, net}]}; Accept: text/csv (group,provider,currency,requested,pending,succeeded,failed,success_rate,collected,refunded,net)",
            "staff, admin, auditor",
            None,
            "200",
            ok.clone(),
        ),
        ("get", "/reports/commissions") => op(
            "Agents' book: premium paid by their customers (less premium refunded) and the commission earned (each payment at its product's rate that day; refunds take it back): ?from=&to=&group_by=month|product → {from, to, group_by, items: [{group, agent_id, agent_name, policies, premium, commission}]}; an agent sees their own; Accept: text/csv (group,agent_id,agent_name,currency,policies,premium,commission)",
            "staff, admin, auditor, agent",
            None,
            "200",
            ok.clone(),
        ),
        ("get", "/reports/ageing") => op(
            "Overdue ageing of unpaid invoices from today's balances: ?as_of= (today or later; default today), ?group_by=all|product → {as_of, group_by, items: [{group, invoices, days_0_30, days_31_60, days_61_90, days_over_90, total}]} (days past the due date); Accept: text/csv (group,currency,invoices,days_0_30,days_31_60,days_61_90,days_over_90,total)",
            "staff, admin, auditor",
            None,
            "200",
            ok.clone(),
        ),
        ("get", "/reports/claims/queue") => op(
            "Open claims (submitted, under review, approved not yet paid) by status and days since filing → {as_of, items: [{status, claims, days_0_7, days_8_30, days_31_90, days_over_90, oldest_days}]}; Accept: text/csv",
            "staff, admin, auditor",
            None,
            "200",
            ok.clone(),
        ),
        ("get", "/reports/dashboard") => op(
            "The caller's figures, by role → {role, as_of, ...}: customer {policies, next_due_payment, open_claims}; agent {applications_pending, renewals_due (30 days), commission_this_month}; staff {claims_queue, applications_awaiting_approval, overdue_invoices}; admin and auditor {premium and losses this year by product, collections_this_month, integrations, users (and active within 30 days)}",
            "any user",
            None,
            "200",
            ok.clone(),
        ),
        ("get", "/audit/verify") => op(
            "The tamper-evidence check: every event's keyed seal (metadata.seal, HMAC under CHAIN_KEY over its content, its place in its aggregate, the seal before it and its recorded_at; SHA-256 metadata.hash before the seal cut-over), every signed checkpoint (numbered without gaps, each over the one before, each still covering the same stretch of the stream in the same order), the anchor's copy of the checkpoints, and that no event stays uncovered for twice CHAIN_CHECKPOINT_SECS → {ok, events_checked, sealed, hashed, unhashed, checkpoints_checked, uncovered, anchored?, first_broken?: {position, aggregate_type, aggregate_id, sequence, reason}}",
            "auditor, admin",
            None,
            "200",
            ok.clone(),
        ),
        ("get", "/audit/alarms") => op(
            "The integrity alarms the checkpoint writer raised when it found something broken (and signed nothing over it): {items: [{id, problem, raised_at, acknowledged_note, acknowledged_by, acknowledged_at}]}",
            "auditor, admin",
            None,
            "200",
            ok.clone(),
        ),
        ("post", "/audit/alarms/{id}/acknowledge") => op(
            "An admin acknowledges an integrity alarm, saying why ({note}, required: 422 without): an IntegrityAlarmAcknowledged event; checkpoints resume, naming the alarm; verification still reports what is broken. 404 for an unknown alarm, 409 when acknowledged already",
            "admin",
            Some(json!({"type": "object", "required": ["note"], "properties": {"note": {"type": "string"}}})),
            "200",
            ok.clone(),
        ),
        ("get", "/audit/correlations/{id}") => op(
            "Every event of one business flow (application, approval, invoice, payment, activation, refund...), across aggregates, in stream order: {correlation_id, items}; 404 when none",
            "auditor, admin",
            None,
            "200",
            ok.clone(),
        ),
        ("get", "/audit/{aggregate_type}/{id}/state") => op(
            "The aggregate (Policy, Invoice, Claim, Product, User, IntegrationConfig, IntegrityAlarm) as it was: ?as_of=<RFC 3339> or ?version=<n> (neither: now), replayed from its events with the command side's own apply → {aggregate_type, aggregate_id, version, recorded_at, state, current_version}; version 0 and state null before it existed; 404 for an unknown aggregate; 409 tampering_detected when one of its events fails its seal or chain (every event of the aggregate is checked, not only those replayed)",
            "auditor, admin",
            None,
            "200",
            ok.clone(),
        ),
        ("get", "/unsubscribe") => op(
            "The unsubscribe link in every email (?token=, no login): an HTML page asking to confirm, so a mail scanner following links changes nothing; 400 page for a broken link",
            "anyone with the link",
            None,
            "200",
            json!({"type": "string", "contentMediaType": "text/html"}),
        ),
        ("post", "/unsubscribe") => op(
            "Confirm the unsubscribe (?token=; also a mail client's RFC 8058 one-click POST): stops reminder and marketing emails; transactional and legally required notices still go. HTML page",
            "anyone with the link",
            None,
            "200",
            json!({"type": "string", "contentMediaType": "text/html"}),
        ),
        ("get", "/health/integrations") => op(
            "Each configured provider: enabled, circuit breaker (closed, open, half_open) and last connection test; status `degraded` while an enabled provider's breaker is open",
            "anyone",
            None,
            "200",
            ok,
        ),
        ("get", "/metrics") => op(
            "Prometheus metrics (text/plain)",
            "anyone",
            None,
            "200",
            json!({"type": "string"}),
        ),
        _ => op("This OpenAPI document", "anyone", None, "200", ok),
    }
}

fn operation_json(method: &str, path: &str) -> Value {
    let op = operation(method, path);
    let public = op.roles == "anyone" || op.roles.starts_with("provider");
    let media = if path.ends_with(".pdf") {
        "application/pdf"
    } else {
        "application/json"
    };
    let mut value = json!({
        "summary": op.summary,
        "description": format!("Who: {}.", op.roles),
        "responses": {
            op.status: {"description": "Success", "content": {media: {"schema": op.response}}},
            "default": {"description": "A problem", "content": {"application/problem+json": {"schema": schema_ref("Problem")}}},
        },
    });
    if let Some(body) = op.body {
        let required = !OPTIONAL_BODY.iter().any(|end| path.ends_with(end));
        let body_media = if path.ends_with("/documents") {
            "multipart/form-data"
        } else {
            "application/json"
        };
        value["requestBody"] =
            json!({"required": required, "content": {body_media: {"schema": body}}});
    }
    if !public {
        value["security"] = json!([{"bearer": []}]);
    }
    let mut parameters = vec![];
    if path.contains("{id}") {
        parameters.push(json!({"name": "id", "in": "path", "required": true, "schema": {"type": "string", "format": "uuid"}}));
    }
    if path.contains("{doc_id}") {
        parameters.push(json!({"name": "doc_id", "in": "path", "required": true, "schema": {"type": "string", "format": "uuid"}}));
    }
    if path.contains("{provider}") {
        parameters.push(json!({"name": "provider", "in": "path", "required": true, "schema": {"enum": ["sandbox", "mpesa", "stripe", "paystack", "flutterwave"]}}));
    }
    if method == "post" || method == "patch" {
        parameters.push(json!({"name": "Idempotency-Key", "in": "header", "required": false, "schema": {"type": "string", "maxLength": 255}, "description": "Same key and body: the first response is replayed and nothing runs again. Same key, other body: 422 idempotency_key_reused. Not stored for login, refresh and logout."}));
        if path.contains("{id}") {
            parameters.push(json!({"name": "If-Match", "in": "header", "required": false, "schema": {"type": "string"}, "description": "The ETag of the version the command expects; 412 if it changed."}));
        }
    }
    if !parameters.is_empty() {
        value["parameters"] = Value::Array(parameters);
    }
    value
}

/// The document.
pub fn document() -> Value {
    let mut paths = Map::new();
    for (method, path) in OPERATIONS {
        let entry = paths
            .entry(format!("/api/v1{path}"))
            .or_insert_with(|| json!({}));
        entry[*method] = operation_json(method, path);
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "ifinsure API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Event-sourced insurance management. Money is {amount: decimal string, currency: ISO 4217}. Errors are RFC 9457 problem+json with a stable `code`. Command responses already show their effect (read-your-writes) and carry ETag: \"<version>\". Health and metrics are also served at the root (/health, /metrics).",
        },
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
            "schemas": merged_schemas(),
        },
    })
}

fn merged_schemas() -> Value {
    let mut all = schemas();
    for more in [lifecycle::schemas(), claims::schemas()] {
        if let (Some(all), Value::Object(more)) = (all.as_object_mut(), more) {
            all.extend(more);
        }
    }
    all
}

fn schemas() -> Value {
    let uuid = json!({"type": "string", "format": "uuid"});
    let time = json!({"type": "string", "format": "date-time"});
    json!({
        "Money": {"type": "object", "required": ["amount", "currency"], "properties": {
            "amount": {"type": "string", "pattern": "^-?[0-9]+(\\.[0-9]+)?$", "example": "1250.00"},
            "currency": {"type": "string", "example": "KES"}}},
        "Problem": {"type": "object", "properties": {
            "type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
            "detail": {"type": "string"}, "code": {"type": "string"}, "request_id": {"type": "string"},
            "errors": {"type": "array", "items": {"type": "object", "properties": {"field": {"type": "string"}, "message": {"type": "string"}}}}}},
        "TokenPair": {"type": "object", "properties": {
            "access_token": {"type": "string"}, "refresh_token": {"type": "string"},
            "token_type": {"const": "Bearer"}, "expires_in": {"type": "integer"}}},
        "Registration": {"type": "object", "required": ["email", "password", "full_name"], "properties": {
            "email": {"type": "string"}, "password": {"type": "string", "minLength": 12},
            "full_name": {"type": "string"}, "phone_number": {"type": "string", "example": "+254712345678"}}},
        "NewUser": {"allOf": [schema_ref("Registration"), {"type": "object", "required": ["role"], "properties": {
            "role": {"enum": ["customer", "agent", "staff", "admin", "auditor"]}}}]},
        "User": {"type": "object", "properties": {
            "id": uuid, "email": {"type": "string"}, "full_name": {"type": "string"},
            "phone_number": {"type": ["string", "null"]}, "role": {"type": "string"},
            "agent_id": {"type": ["string", "null"], "format": "uuid"},
            "status": {"enum": ["active", "deactivated"]}, "version": {"type": "integer"},
            "created_at": time, "updated_at": time}},
        "NewProduct": {"type": "object", "required": ["code", "name", "line", "currency", "rate", "minimum_premium", "sum_insured_min", "sum_insured_max", "term_months"], "properties": {
            "code": {"type": "string", "pattern": "^[A-Z0-9_-]{1,32}$"}, "name": {"type": "string"},
            "line": {"enum": ["motor", "health", "life", "property", "travel", "other"]},
            "description": {"type": "string"}, "currency": {"type": "string"},
            "rate": {"type": "string", "description": "0 < rate < 1", "example": "0.035"},
            "minimum_premium": money(), "sum_insured_min": money(), "sum_insured_max": money(),
            "term_months": {"type": "integer", "minimum": 1, "maximum": 120},
            "commission_rate": {"type": "string", "description": "agents' commission on premium paid, 0 <= rate < 1; default 0", "example": "0.10"}}},
        "Product": {"type": "object", "properties": {
            "id": uuid, "code": {"type": "string"}, "name": {"type": "string"}, "line": {"type": "string"},
            "description": {"type": "string"}, "currency": {"type": "string"}, "rate": {"type": "string"},
            "minimum_premium": money(), "sum_insured_min": money(), "sum_insured_max": money(),
            "term_months": {"type": "integer"}, "status": {"enum": ["active", "retired"]},
            "retired_reason": {"type": ["string", "null"]}, "commission_rate": {"type": "string"}, "version": {"type": "integer"},
            "created_at": time, "updated_at": time}},
    })
}
