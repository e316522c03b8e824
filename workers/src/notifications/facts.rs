//! What a notification says: for each event that people hear about, its
//! template, whom it is for, and the facts the template shows (money and
//! dates already formatted for the recipient). Aggregates are loaded from
//! the event store, never from read models that may lag behind.

use domain::claim::{Claim, ClaimEvent};
use domain::invoice::{Invoice, InvoiceEvent};
use domain::notifications::Template;
use domain::policy::{Policy, PolicyEvent};
use domain::user::UserEvent;
use domain::Money;
use projections::{EventStore, StoredEvent};
use serde_json::{json, Value};
use uuid::Uuid;

/// One notification to make of an event.
#[derive(Debug, Clone, PartialEq)]
pub struct Notice {
    /// Which template.
    pub template: Template,
    /// The user it is for.
    pub recipient_id: Uuid,
    /// The facts shown.
    pub facts: Value,
}

/// The current state of `event`'s aggregate.
async fn current<A: cqrs_es::Aggregate>(
    store: &EventStore,
    event: &StoredEvent,
) -> anyhow::Result<A> {
    let (aggregate, _) = store.load::<A>(&event.aggregate_id).await.map_err(|e| {
        anyhow::anyhow!(
            "loading {} {}: {e}",
            event.aggregate_type,
            event.aggregate_id
        )
    })?;
    Ok(aggregate)
}

/// `25 Nov 2026`.
pub use domain::dates::long_date as date;

/// A refund as the notices show it: `None` when nothing is paid back.
fn refund_text(refund: &Money) -> Option<String> {
    (!refund.amount().is_zero()).then(|| refund.grouped())
}

/// The notice `event` gives rise to, if any; `reset_secret` derives
/// password-reset tokens.
///
/// # Errors
/// When the event does not decode or its aggregate does not load.
pub async fn of(
    store: &EventStore,
    event: &StoredEvent,
    reset_secret: &[u8],
) -> anyhow::Result<Option<Notice>> {
    match event.aggregate_type.as_str() {
        "User" => user(event, reset_secret),
        "Policy" => policy(store, event).await,
        "Invoice" => invoice(store, event).await,
        "Claim" => claim(store, event).await,
        _ => Ok(None),
    }
}

fn user(event: &StoredEvent, reset_secret: &[u8]) -> anyhow::Result<Option<Notice>> {
    let recipient_id = event.aggregate_id.parse()?;
    Ok(match event.decode::<UserEvent>()? {
        UserEvent::UserRegistered { .. } => Some(Notice {
            template: Template::Welcome,
            recipient_id,
            facts: json!({}),
        }),
        UserEvent::PasswordResetRequested { request_id, .. } => Some(Notice {
            template: Template::PasswordReset,
            recipient_id,
            facts: json!({
                "token": domain::password_reset::token(reset_secret, request_id),
                "valid_minutes": domain::password_reset::VALID_MINUTES,
            }),
        }),
        _ => None,
    })
}

async fn policy(store: &EventStore, event: &StoredEvent) -> anyhow::Result<Option<Notice>> {
    let decoded = event.decode::<PolicyEvent>()?;
    let template = match &decoded {
        PolicyEvent::ApplicationSubmitted(_) => Template::ApplicationSubmitted,
        PolicyEvent::ApplicationApproved { .. } => Template::ApplicationApproved,
        PolicyEvent::ApplicationRejected { .. } => Template::ApplicationRejected,
        PolicyEvent::PolicyActivated { .. } => Template::PolicyActivated,
        PolicyEvent::ExpiryReminderIssued { .. } => Template::PolicyExpiring,
        PolicyEvent::PolicyCancelled { .. } => Template::PolicyCancelled,
        PolicyEvent::PolicyLapsed { .. } => Template::PolicyLapsed,
        _ => return Ok(None),
    };
    let policy: Policy = current(store, event).await?;
    let Some(application) = &policy.application else {
        return Ok(None);
    };
    let term = policy.terms.first();
    let mut facts = json!({
        "product_name": application.product_name,
        "sum_insured": application.sum_insured.grouped(),
        "premium": term.map_or(&application.premium, |t| &t.premium).grouped(),
        "start_date": date(term.map_or(application.start_date, |t| t.start_date)),
        "end_date": term.map(|t| date(t.end_date)),
        "policy_number": policy.policy_number,
        "reason": null, "effective_date": null, "refund": null, "due_date": null,
        "lapsed_on": null, "days_before": null,
    });
    match decoded {
        PolicyEvent::ApplicationRejected { reason } => facts["reason"] = json!(reason),
        PolicyEvent::ExpiryReminderIssued {
            end_date,
            days_before,
            ..
        } => {
            facts["end_date"] = json!(date(end_date));
            facts["days_before"] = json!(days_before);
        }
        PolicyEvent::PolicyCancelled {
            reason,
            effective_date,
            refund,
            ..
        } => {
            facts["reason"] = json!(reason);
            facts["effective_date"] = json!(date(effective_date));
            facts["refund"] = json!(refund_text(&refund));
        }
        PolicyEvent::PolicyLapsed {
            due_date,
            lapsed_on,
            refunds,
            ..
        } => {
            facts["due_date"] = json!(date(due_date));
            facts["lapsed_on"] = json!(date(lapsed_on));
            let currency = application.premium.currency();
            let total = Money::total(currency, refunds.iter().map(|r| r.amount));
            facts["refund"] = json!(refund_text(&total));
        }
        _ => {}
    }
    Ok(Some(Notice {
        template,
        recipient_id: application.customer_id.0,
        facts,
    }))
}

async fn invoice(store: &EventStore, event: &StoredEvent) -> anyhow::Result<Option<Notice>> {
    let decoded = event.decode::<InvoiceEvent>()?;
    let template = match &decoded {
        InvoiceEvent::InvoiceCreated(_) => Template::InvoiceCreated,
        InvoiceEvent::PaymentSucceeded { .. } => Template::PaymentReceived,
        InvoiceEvent::InvoiceOverdue { .. } | InvoiceEvent::OverdueReminderIssued { .. } => {
            Template::InvoiceOverdue
        }
        _ => return Ok(None),
    };
    let invoice: Invoice = current(store, event).await?;
    let Some(details) = &invoice.details else {
        return Ok(None);
    };
    let mut facts = json!({
        "invoice_number": details.invoice_number,
        "policy_number": details.policy_number,
        "amount": details.amount.grouped(),
        "due_date": date(details.due_date),
        "balance": invoice.balance().map(|b| b.grouped()),
        "stage": null, "pay_by": null,
    });
    match decoded {
        InvoiceEvent::PaymentSucceeded {
            amount,
            provider_reference,
            ..
        } => {
            facts["amount"] = json!(amount.grouped());
            facts["reference"] = json!(provider_reference.unwrap_or_else(|| "-".into()));
        }
        InvoiceEvent::OverdueReminderIssued {
            stage,
            balance,
            pay_by,
        } => {
            facts["stage"] = json!(stage.as_str());
            facts["balance"] = json!(balance.grouped());
            facts["pay_by"] = json!(date(pay_by));
        }
        _ => {}
    }
    Ok(Some(Notice {
        template,
        recipient_id: details.customer_id.0,
        facts,
    }))
}

async fn claim(store: &EventStore, event: &StoredEvent) -> anyhow::Result<Option<Notice>> {
    let decoded = event.decode::<ClaimEvent>()?;
    let (template, status, reason) = match &decoded {
        ClaimEvent::ClaimFiled(_) => (Template::ClaimSubmitted, None, None),
        ClaimEvent::ClaimAssigned { .. } => {
            (Template::ClaimStatusUpdate, Some("under review"), None)
        }
        ClaimEvent::ClaimRejected { reason } => (
            Template::ClaimStatusUpdate,
            Some("rejected"),
            Some(reason.clone()),
        ),
        ClaimEvent::ClaimClosed { reason } => {
            (Template::ClaimStatusUpdate, Some("closed"), reason.clone())
        }
        ClaimEvent::ClaimReopened { reason } => (
            Template::ClaimStatusUpdate,
            Some("reopened"),
            Some(reason.clone()),
        ),
        ClaimEvent::ClaimApproved { .. } => (Template::ClaimApproved, None, None),
        ClaimEvent::ClaimPaid { .. } => (Template::ClaimPaid, None, None),
        _ => return Ok(None),
    };
    let claim: Claim = current(store, event).await?;
    let Some(details) = &claim.details else {
        return Ok(None);
    };
    let mut facts = json!({
        "claim_number": details.claim_number,
        "policy_number": details.policy_number,
        "claimed_amount": details.claimed_amount.grouped(),
        "incident_date": date(details.incident_date),
        "status_text": status,
        "reason": reason,
        "approved_amount": claim.approved_amount.as_ref().map(Money::grouped),
        "paid_amount": claim.paid_amount.as_ref().map(Money::grouped),
    });
    match decoded {
        ClaimEvent::ClaimApproved {
            approved_amount, ..
        } => {
            facts["approved_amount"] = json!(approved_amount.grouped());
        }
        ClaimEvent::ClaimPaid { amount_paid } => {
            facts["paid_amount"] = json!(amount_paid.grouped())
        }
        _ => {}
    }
    Ok(Some(Notice {
        template,
        recipient_id: details.customer_id.0,
        facts,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_read_day_month_year() {
        assert_eq!(date("2026-11-05".parse().unwrap()), "5 Nov 2026");
    }
}
