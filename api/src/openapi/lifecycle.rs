//! The OpenAPI description of applications, policies, billing and webhooks.

use serde_json::{json, Value};

use super::{money, op, schema_ref, Op};

fn list(item: Value) -> Value {
    json!({"type": "object", "properties": {"items": {"type": "array", "items": item}, "next_cursor": {"type": ["string", "null"]}}})
}

fn pdf() -> Value {
    json!({"type": "string", "format": "binary", "contentMediaType": "application/pdf"})
}

/// The operation at `method path`, if it is one of these.
pub(super) fn operation(method: &str, path: &str) -> Option<Op> {
    let policy = schema_ref("Policy");
    let invoice = schema_ref("Invoice");
    let payment = schema_ref("Payment");
    let date = json!({"type": "string", "format": "date"});
    let reason = json!({"type": "object", "required": ["reason"], "properties": {"reason": {"type": "string"}}});
    Some(match (method, path) {
        ("post", "/policies/applications") => op(
            "Apply for a product; the premium is quoted at today's rate and kept",
            "customer (for themself), agent (assigned customers), staff",
            Some(schema_ref("NewApplication")),
            "201",
            policy,
        ),
        ("get", "/policies/applications") => op(
            "List applications of every status (?status=, ?customer_id=, ?product_id=, ?limit=, ?cursor=)",
            "by role",
            None,
            "200",
            list(policy),
        ),
        ("get", "/policies/applications/{id}") => op("One application", "by role", None, "200", policy),
        ("post", "/policies/applications/{id}/approve") => op(
            "Approve: issues the policy number and the premium invoice (invoice_id)",
            "agent (assigned customers), staff",
            None,
            "200",
            policy,
        ),
        ("post", "/policies/applications/{id}/reject") => op(
            "Reject, with a reason",
            "agent (assigned customers), staff",
            Some(reason.clone()),
            "200",
            policy,
        ),
        ("get", "/policies/policies") => op(
            "List issued policies (approved or later; same filters as applications)",
            "by role",
            None,
            "200",
            list(policy),
        ),
        ("get", "/policies/policies/{id}") => op(
            "One policy, with its history: every event in order, {sequence, event_type, recorded_at, user_id, user_name, role} (who did it: null user for the system and providers), each checked against its seal",
            "by role",
            None,
            "200",
            policy.clone(),
        ),
        ("post", "/policies/policies/{id}/endorse") => op(
            "Change the sum insured from a date: the pro-rata premium difference is invoiced or refunded",
            "staff",
            Some(json!({"type": "object", "required": ["sum_insured", "effective_date"], "properties": {"sum_insured": money(), "effective_date": date}})),
            "200",
            policy,
        ),
        ("post", "/policies/policies/{id}/cancel") => op(
            "Cancel; cover ends on effective_date (default today) and the unearned paid premium is refunded pro rata by day",
            "customer (own; not backdated), staff",
            Some(json!({"type": "object", "required": ["reason"], "properties": {"reason": {"type": "string"}, "effective_date": date}})),
            "200",
            policy,
        ),
        ("get", "/policies/policies/{id}/cancellation-quote") => op(
            "What cancelling would give, nothing recorded: ?effective_date=<YYYY-MM-DD, default today> → {policy_id, refund, retained, effective_date} (refund + retained = what was paid), decided as the cancellation would be; 409 invalid_transition when the policy cannot be cancelled, 422 for a date past cover (or, for a customer, in the past)",
            "the customer (own), staff, admin",
            None,
            "200",
            json!({"type": "object", "required": ["refund", "retained", "effective_date"]}),
        ),
        ("post", "/policies/policies/{id}/renew") => op(
            "Offer the next term at the product's current rate, with a new invoice",
            "staff (the scheduler renews within the notice period)",
            None,
            "200",
            policy,
        ),
        ("get", "/billing/invoices") => op(
            "List invoices (?status=open|paid|overdue|void, ?customer_id=, ?policy_id=, ?limit=, ?cursor=)",
            "by role",
            None,
            "200",
            list(invoice),
        ),
        ("get", "/billing/invoices/{id}/payment-options") => op(
            "How this invoice can be paid now: {invoice_id, currency, balance, payable, default_provider, providers: [{provider, name, payer_contact}], customer: {phone_number, email}}; payer_contact says what to send with the payment: nothing, phone (M-Pesa: the paying Kenyan mobile number), email (Paystack), optional_email (Stripe: for the receipt), phone_or_email (Flutterwave: a Kenyan number for M-Pesa in KES, else an email for its checkout); the default provider first",
            "owner, their agent, staff, admin",
            None,
            "200",
            json!({"type": "object", "required": ["currency", "providers", "payable"]}),
        ),
        ("get", "/billing/invoices/{id}") => op("One invoice, with its payments and refunds", "by role", None, "200", invoice),
        ("post", "/billing/invoices/{id}/pay") => op(
            "Ask a provider for the balance (or an installment: amount); settled by the provider's webhook or reconciliation. Without `provider`, the primary enabled payment configuration's provider (else the deployment default). The payment worker fails over to the next enabled configuration that takes the currency when one is out. M-Pesa needs a Kenyan phone_number; Paystack an email; 422 names the providers available; 409 payment_pending (with payment_id) while pending payments cover the balance; 409 invalid_transition on a void or paid invoice, or one of a cancelled or lapsed policy. next_action says what the payer does next once the charge reached its provider (within 2 s; else null, and GET /billing/payments/{id} says it): {type: redirect, url} for a hosted checkout (a Stripe Checkout Session, Paystack, Flutterwave), which returns the payer to the invoice's page, {type: approve_on_phone, message} for an M-Pesa prompt",
            "owner, their agent, staff",
            Some(json!({"type": "object", "properties": {"provider": {"enum": ["sandbox", "stripe", "mpesa", "paystack", "flutterwave"], "description": "one with an enabled configuration (or the built-in sandbox)"}, "amount": money(), "phone_number": {"type": "string"}, "email": {"type": "string"}}})),
            "202",
            json!({"type": "object", "properties": {"payment_id": {"type": "string", "format": "uuid"}, "invoice_id": {"type": "string", "format": "uuid"}, "status": {"const": "pending"}, "provider": {"type": "string"}, "amount": money(), "next_action": next_action()}}),
        ),
        ("post", "/billing/invoices/{id}/void") => op(
            "Void an invoice with nothing paid (reason optional)",
            "staff",
            Some(json!({"type": "object", "properties": {"reason": {"type": "string"}}})),
            "200",
            invoice,
        ),
        ("get", "/billing/payments") => op(
            "List payments (?invoice_id=, ?status=pending|succeeded|failed, ?limit=, ?cursor=)",
            "by role",
            None,
            "200",
            list(payment),
        ),
        ("get", "/billing/payments/{id}") => op("One payment; while pending, next_action (what the payer does next: open the provider's checkout, or approve on the phone)", "by role", None, "200", payment),
        ("get", "/policies/policies/{id}/certificate.pdf") => op(
            "Certificate of insurance (application/pdf), drawn once per policy version and kept in the document store (X-Document-Cache: hit|miss); 409 policy_not_active unless active",
            "by role",
            None,
            "200",
            pdf(),
        ),
        ("get", "/billing/invoices/{id}/invoice.pdf") => op("The invoice (application/pdf)", "by role", None, "200", pdf()),
        ("get", "/billing/payments/{id}/receipt.pdf") => op(
            "A receipt (application/pdf); 409 payment_not_succeeded unless it succeeded",
            "by role",
            None,
            "200",
            pdf(),
        ),
        ("get", "/customers/{id}/statement") => op(
            "A customer's statement of account: ?from=&to= (dates; default this month to today) → {customer_id, customer, from, to, statements: [{currency, opening_balance, lines: [{date, description, debit, credit, balance}], total_debits, total_credits, closing_balance}]} per currency; invoices are debits; payments, voided or reduced balances and credit notes (premium given back by a cancellation, lapse or lower endorsement) credits; refunds, and earned premium not paid kept at a cancellation, debits; a positive balance is owed, and the closing balance is the open invoices' balances less the customer's credit. Accept: application/pdf gives the PDF. For the customer, their agent, staff, admin, auditor; 404 otherwise",
            "by role",
            None,
            "200",
            json!({"type": "object"}),
        ),
        ("get", "/customers/{id}/statement.pdf") => op(
            "The statement of account as PDF (?from=&to=)",
            "by role",
            None,
            "200",
            pdf(),
        ),
        ("post", "/webhooks/{provider}") => op(
            "A provider's callback (sandbox, stripe, mpesa or its alias daraja, paystack, flutterwave, twilio, africastalking, sendgrid), authenticated by its own scheme: sandbox Sandbox-Signature and stripe Stripe-Signature (t=..,v1=.., 300 s tolerance); paystack x-paystack-signature (HMAC-SHA512 of the raw body); flutterwave verif-hash (outcome recorded after a verification query); twilio X-Twilio-Signature (status callbacks) and sendgrid's ECDSA X-Twilio-Email-Event-Webhook-Signature (event batches) mark messages delivered or failed, as do africastalking delivery reports, authenticated by the configuration's ?token=; mpesa by the configuration's ?token= in the callback URL, its outcome recorded only after an STK query confirms it. Every delivery is stored raw. 401 if unauthenticated (nothing changes), 200 and no change if a duplicate; M-Pesa gets {ResultCode: 0, ResultDesc: Accepted}",
            "provider (signed webhook)",
            Some(json!({"type": "object"})),
            "200",
            json!({"type": "object", "properties": {"received": {"const": true}}}),
        ),
        _ => return None,
    })
}

/// The schemas these operations use.
pub(super) fn schemas() -> Value {
    let uuid = json!({"type": "string", "format": "uuid"});
    let date = json!({"type": "string", "format": "date"});
    let time = json!({"type": "string", "format": "date-time"});
    json!({
        "NewApplication": {"type": "object", "required": ["product_id", "sum_insured", "start_date"], "properties": {
            "product_id": uuid, "customer_id": {"type": "string", "format": "uuid", "description": "required for agents and staff"},
            "sum_insured": money(), "start_date": date,
            "insured": {"type": "object", "description": "what is insured, as given"}}},
        "Policy": {"type": "object", "properties": {
            "id": uuid, "status": {"enum": ["submitted", "approved", "active", "rejected", "cancelled", "lapsed", "expired"]},
            "policy_number": {"type": ["string", "null"], "example": "POL-2026-000123"},
            "product_id": uuid, "customer_id": uuid, "sum_insured": money(), "premium": money(),
            "start_date": date, "end_date": date, "term_number": {"type": ["integer", "null"]},
            "invoice_id": {"type": ["string", "null"], "format": "uuid"}, "amount_paid": money(),
            "refund": {"oneOf": [money(), {"type": "null"}]},
            "renewal": {"type": ["object", "null"]}, "version": {"type": "integer"},
            "created_at": time, "updated_at": time}},
        "Invoice": {"type": "object", "properties": {
            "id": uuid, "invoice_number": {"type": "string", "example": "INV-2026-000045"},
            "policy_id": uuid, "customer_id": uuid, "kind": {"enum": ["premium", "endorsement", "renewal"]},
            "amount": money(), "amount_paid": money(), "balance": money(), "credit": money(), "refunded": money(),
            "status": {"enum": ["open", "paid", "overdue", "void"]}, "issued_on": date, "due_date": date,
            "payments": {"type": "array"}, "refunds": {"type": "array"}, "version": {"type": "integer"}}},
        "Payment": {"type": "object", "properties": {
            "id": uuid, "invoice_id": uuid, "amount": money(), "amount_received": money(), "refunded": money(),
            "status": {"enum": ["pending", "succeeded", "failed"]}, "provider": {"type": "string"},
            "provider_reference": {"type": ["string", "null"]}, "failure_reason": {"type": ["string", "null"]},
            "created_at": time, "updated_at": time}},
    })
}

/// The payer's next step of a pending charge.
fn next_action() -> Value {
    json!({"oneOf": [
        {"type": "null"},
        {"type": "object", "required": ["type", "url"], "properties": {"type": {"const": "redirect"}, "url": {"type": "string", "format": "uri"}}},
        {"type": "object", "required": ["type", "message"], "properties": {"type": {"const": "approve_on_phone"}, "message": {"type": "string"}}}
    ]})
}
