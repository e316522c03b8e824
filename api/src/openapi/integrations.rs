//! The OpenAPI description of the Integrations Center.

use serde_json::{json, Value};

use super::{op, Op};

/// The Integrations Center's operations (admin only).
pub(super) fn operation(method: &str, path: &str) -> Option<Op> {
    let config = json!({"type": "object", "description": "A configuration; credentials masked (sk_live_…4242), never in clear", "properties": {
        "id": {"type": "string", "format": "uuid"}, "provider": {"type": "string"}, "category": {"type": "string"},
        "name": {"type": "string"}, "environment": {"enum": ["sandbox", "production"]}, "enabled": {"type": "boolean"},
        "is_primary": {"type": "boolean"}, "priority": {"type": "integer"}, "settings": {"type": "object"},
        "credentials": {"type": "object"}, "webhook_url": {"type": ["string", "null"]}, "version": {"type": "integer"}}});
    let body = json!({"type": "object", "properties": {
        "provider": {"type": "string", "description": "catalogue slug: mpesa, stripe, paystack, flutterwave, sandbox, africastalking, twilio, smtp, sendgrid, local, s3, gcs"},
        "name": {"type": "string"}, "environment": {"enum": ["sandbox", "production"]}, "enabled": {"type": "boolean"},
        "is_primary": {"type": "boolean"}, "priority": {"type": "integer"},
        "credentials": {"type": "object", "description": "the provider's secret fields; write-only"},
        "settings": {"type": "object", "description": "the provider's other fields, and base_url"}}});
    let list = |item: Value| json!({"type": "object", "properties": {"items": {"type": "array", "items": item}, "next_cursor": {"type": ["string", "null"]}}});
    Some(match (method, path) {
        ("get", "/integrations/categories") => op("Categories and their providers", "admin", None, "200", list(json!({"type": "object"}))),
        ("get", "/integrations/providers") => op("The provider catalogue with each configuration schema (?category=)", "admin", None, "200", list(json!({"type": "object"}))),
        ("post", "/integrations/configs") => op("Configure a provider; credentials are encrypted at rest", "admin", Some(body.clone()), "201", config.clone()),
        ("get", "/integrations/configs") => op("List configurations (?category=, ?provider=, ?environment=)", "admin", None, "200", list(config.clone())),
        ("get", "/integrations/configs/{id}") => op("One configuration", "admin", None, "200", config.clone()),
        ("patch", "/integrations/configs/{id}") => op("Change a configuration; credentials given replace the stored ones (empty string removes)", "admin", Some(body), "200", config.clone()),
        ("post", "/integrations/configs/{id}/toggle") => op("Enable or disable", "admin", None, "200", config.clone()),
        ("post", "/integrations/configs/{id}/test") => op("Test the connection: calls the provider's cheapest authenticated endpoint (Stripe: balance; M-Pesa: OAuth token) with the stored credentials and records the result as last_test {ok, latency_ms, detail}; 409 no_adapter for providers without an adapter", "admin", None, "200", config),
        ("get", "/integrations/logs") => op("The integration log, newest first: every provider call attempt {id, config_id, provider, action, request, response (both redacted), status, ok, latency_ms, reference_type, reference_id, error, created_at}; filters ?config_id=, ?provider=, ?action=, ?ok= (answered), ?result=succeeded|failed (answered without an error status, or not), ?reference_id=, ?from=, ?to=, ?limit=, ?cursor=", "admin", None, "200", list(json!({"type": "object"}))),
        ("get", "/integrations/webhooks") => op("Every webhook delivery received, newest first: {id, provider, config_id, provider_event_id, verified, outcome, received_at}; filters ?provider=, ?verified=, ?from=, ?to=, ?limit=, ?cursor=", "admin", None, "200", list(json!({"type": "object"}))),
        ("get", "/integrations/webhooks/{id}") => op("One webhook delivery with its headers and body, fields that may hold a secret (tokens, passwords, keys, authorizations) redacted; body_size and body_sha256 of the whole body, body_truncated when only its start was kept (an unverified delivery keeps 4 KiB)", "admin", None, "200", json!({"type": "object"})),
        _ => return None,
    })
}
