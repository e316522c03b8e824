//! The OpenAPI description of claims.

use serde_json::{json, Value};

use super::{money, op, schema_ref, Op};

/// The operation at `method path`, if it is a claims one.
pub(super) fn operation(method: &str, path: &str) -> Option<Op> {
    let claim = schema_ref("Claim");
    let reason = json!({"type": "object", "required": ["reason"], "properties": {"reason": {"type": "string"}}});
    let staff = "staff, admin";
    Some(match (method, path) {
        ("post", "/claims") => op(
            "First notice of loss on an active policy (409 policy_not_active, incident_outside_cover)",
            "customer (own policy), agent (assigned customers), staff",
            Some(json!({"type": "object", "required": ["policy_id", "incident_date", "description", "claimed_amount"], "properties": {
                "policy_id": {"type": "string", "format": "uuid"}, "incident_date": {"type": "string", "format": "date"},
                "description": {"type": "string"}, "claimed_amount": money()}})),
            "201",
            claim,
        ),
        ("get", "/claims") => op(
            "List claims; the staff queue (?status=, ?assignee_id=, ?policy_id=, ?customer_id=, ?min_age_days=, ?limit=, ?cursor=)",
            "by role",
            None,
            "200",
            json!({"type": "object", "properties": {"items": {"type": "array", "items": claim}, "next_cursor": {"type": ["string", "null"]}}}),
        ),
        ("get", "/claims/{id}") => op(
            "One claim with documents, notes (internal ones for staff only) and its timeline",
            "by role",
            None,
            "200",
            claim,
        ),
        ("patch", "/claims/{id}") => op(
            "Amend while submitted",
            "owner (the customer); anyone else 403",
            Some(json!({"type": "object", "properties": {"description": {"type": "string"}, "claimed_amount": money()}})),
            "200",
            claim,
        ),
        ("post", "/claims/{id}/documents") => op(
            "Upload a document: multipart/form-data, field `file`, at most 10 MiB (413), PDF/JPEG/PNG by content (415)",
            "owner, staff",
            Some(json!({"type": "object", "properties": {"file": {"type": "string", "format": "binary"}}})),
            "201",
            json!({"type": "object", "properties": {"id": {"type": "string", "format": "uuid"}, "filename": {"type": "string"}, "content_type": {"type": "string"}, "size": {"type": "integer"}, "sha256": {"type": "string"}}}),
        ),
        ("get", "/claims/{id}/documents/{doc_id}") => op("Download a document", "by role", None, "200", json!({"type": "string", "format": "binary"})),
        ("get", "/claims/{id}/summary.pdf") => op("The claim summary (application/pdf)", "by role", None, "200", json!({"type": "string", "format": "binary"})),
        ("post", "/claims/{id}/notes") => op(
            "Add a note; internal (staff-only) unless internal is false",
            staff,
            Some(json!({"type": "object", "required": ["text"], "properties": {"text": {"type": "string"}, "internal": {"type": "boolean", "default": true}}})),
            "201",
            json!({"type": "object"}),
        ),
        ("post", "/claims/{id}/assign") => op(
            "Assign a reviewer: under_review",
            staff,
            Some(json!({"type": "object", "required": ["assignee_id"], "properties": {"assignee_id": {"type": "string", "format": "uuid"}}})),
            "200",
            claim,
        ),
        ("post", "/claims/{id}/reserve") => op(
            "Set or adjust the reserve (expected cost)",
            staff,
            Some(json!({"type": "object", "required": ["amount"], "properties": {"amount": money()}})),
            "200",
            claim,
        ),
        ("post", "/claims/{id}/approve") => op(
            "Approve a total amount (≤ claimed; the policy's claims ≤ its sum insured: 409 exceeds_sum_insured; staff ≤ CLAIMS_AUTHORITY_LIMIT: 403 authority_limit). Whoever filed or last amended the claim may not (403 separation_of_duties). Above CLAIMS_DUAL_CONTROL_LIMIT (default half the authority limit) the answer is 202 with pending_approval: a second staff member or admin confirms it (POST /claims/{id}/confirm)",
            staff,
            Some(json!({"type": "object", "required": ["approved_amount"], "properties": {"approved_amount": money()}})),
            "200",
            claim.clone(),
        ),
        ("post", "/claims/{id}/confirm") => op(
            "A second person confirms what another proposed: subject approval (the proposed total is then approved, within the policy's cover) or payee. The proposer, and whoever filed or last amended the claim, may not (403 separation_of_duties)",
            staff,
            Some(json!({"type": "object", "required": ["subject"], "properties": {"subject": {"enum": ["approval", "payee"]}}})),
            "200",
            claim.clone(),
        ),
        ("post", "/claims/{id}/payee") => op(
            "Propose a payee other than the claimant (phone_number or email, and a reason): payouts go to it only once a second person confirms it (POST /claims/{id}/confirm {subject: payee}); until then no payout is made",
            staff,
            Some(json!({"type": "object", "required": ["reason"], "properties": {"phone_number": {"type": "string"}, "email": {"type": "string"}, "reason": {"type": "string"}}})),
            "200",
            claim.clone(),
        ),
        ("post", "/claims/{id}/reject") => op("Reject, with a reason", staff, Some(reason.clone()), "200", claim),
        ("post", "/claims/{id}/pay") => op(
            "Pay the approved amount out through the provider, to the claimant's own phone number or the confirmed payee (any other phone_number: 409 confirmation_required); paid once the provider confirms",
            staff,
            Some(json!({"type": "object", "properties": {"provider": {"enum": ["sandbox"]}, "phone_number": {"type": "string"}}})),
            "202",
            json!({"type": "object", "properties": {"payout_id": {"type": "string", "format": "uuid"}, "status": {"const": "pending"}, "amount": money()}}),
        ),
        ("post", "/claims/{id}/close") => op("Close (reason optional)", staff, Some(json!({"type": "object", "properties": {"reason": {"type": "string"}}})), "200", claim),
        ("post", "/claims/{id}/reopen") => op("Reopen for review, with a reason", staff, Some(reason), "200", claim),
        _ => return None,
    })
}

/// The schemas claims use.
pub(super) fn schemas() -> Value {
    let uuid = json!({"type": "string", "format": "uuid"});
    json!({
        "Claim": {"type": "object", "properties": {
            "id": uuid, "claim_number": {"type": "string", "example": "CLM-2026-000001"},
            "status": {"enum": ["submitted", "under_review", "approved", "rejected", "paid", "closed"]},
            "policy_id": uuid, "customer_id": uuid, "incident_date": {"type": "string", "format": "date"},
            "description": {"type": "string"}, "claimed_amount": money(), "approved_amount": money(),
            "paid_amount": money(), "reserve": money(), "assignee_id": {"type": ["string", "null"], "format": "uuid"},
            "documents": {"type": "array"}, "notes": {"type": "array"}, "payouts": {"type": "array"},
            "timeline": {"type": "array"}, "version": {"type": "integer"}}},
    })
}
