//! Given/when/then tests of every invoice command and rejection.

use chrono::NaiveDate;
use cqrs_es::test::TestFramework;

use super::*;
use crate::currency::Currency;
use crate::ids::{InvoiceId, PolicyId, UserId};

type Given = TestFramework<Invoice>;

fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn kes(s: &str) -> Money {
    Money::new(s.parse().unwrap(), Currency::KES).unwrap()
}

const PAYMENT: PaymentId = PaymentId(uuid::Uuid::from_u128(3));
const REFUND: RefundId = RefundId(uuid::Uuid::from_u128(4));

fn details() -> InvoiceDetails {
    InvoiceDetails {
        invoice_id: InvoiceId(uuid::Uuid::from_u128(1)),
        invoice_number: "INV-2026-000001".into(),
        policy_id: PolicyId(uuid::Uuid::from_u128(2)),
        policy_number: "POL-2026-000001".into(),
        customer_id: UserId(uuid::Uuid::from_u128(5)),
        kind: InvoiceKind::Premium,
        term_number: 1,
        amount: kes("40000"),
        issued_on: d("2026-01-01"),
        due_date: d("2026-01-15"),
    }
}

fn decided(
    given: Vec<InvoiceEvent>,
    command: InvoiceCommand,
) -> Result<Vec<InvoiceEvent>, InvoiceError> {
    Given::with(()).given(given).when(command).inspect_result()
}

fn created() -> Vec<InvoiceEvent> {
    vec![InvoiceEvent::InvoiceCreated(details())]
}

fn request(id: PaymentId) -> InvoiceCommand {
    InvoiceCommand::RequestPayment {
        payment_id: id,
        provider: "sandbox".into(),
        amount: None,
        payer_contact: None,
        requested_by: None,
    }
}

fn requested() -> Vec<InvoiceEvent> {
    let mut events = created();
    events.extend(decided(events.clone(), request(PAYMENT)).unwrap());
    events
}

fn succeed(amount: &str) -> InvoiceCommand {
    InvoiceCommand::RecordPaymentSucceeded {
        payment_id: PAYMENT,
        amount: kes(amount),
        provider_reference: Some("sbx_1".into()),
    }
}

fn state(events: &[InvoiceEvent]) -> Invoice {
    let mut invoice = Invoice::default();
    for e in events {
        invoice.apply(e.clone());
    }
    invoice
}

#[test]
fn creating_issues_an_open_invoice_once() {
    Given::with(())
        .given_no_previous_events()
        .when(InvoiceCommand::Create(details()))
        .then_expect_events(created());
    assert_eq!(
        decided(created(), InvoiceCommand::Create(details())),
        Err(InvoiceError::AlreadyCreated)
    );
    let mut zero = details();
    zero.amount = kes("0");
    assert!(matches!(
        decided(vec![], InvoiceCommand::Create(zero)),
        Err(InvoiceError::Validation(_))
    ));
}

#[test]
fn requesting_a_payment_asks_for_the_balance_with_a_key_derived_from_the_payment() {
    Given::with(())
        .given(created())
        .when(request(PAYMENT))
        .then_expect_events(vec![InvoiceEvent::PaymentRequested {
            payment_id: PAYMENT,
            provider: "sandbox".into(),
            amount: kes("40000"),
            idempotency_key: format!("pay-{PAYMENT}"),
            payer_contact: None,
            requested_by: None,
        }]);
    Given::with(())
        .given(requested())
        .when(request(PAYMENT))
        .then_expect_events(vec![]);
    assert_eq!(
        decided(vec![], request(PAYMENT)),
        Err(InvoiceError::NotFound)
    );
}

#[test]
fn a_full_payment_settles_the_invoice_and_a_duplicate_changes_nothing() {
    let events = decided(requested(), succeed("40000")).unwrap();
    assert_eq!(
        events[1],
        InvoiceEvent::InvoicePaid {
            amount_paid: kes("40000")
        }
    );
    let mut all = requested();
    all.extend(events);
    assert_eq!(state(&all).status, InvoiceStatus::Paid);
    assert_eq!(decided(all, succeed("40000")), Ok(vec![]));
}

#[test]
fn a_partial_payment_keeps_it_open_with_a_smaller_balance() {
    let mut events = requested();
    events.extend(decided(events.clone(), succeed("15000")).unwrap());
    let invoice = state(&events);
    assert_eq!(invoice.status, InvoiceStatus::Open);
    assert_eq!(invoice.balance(), Some(kes("25000")));
}

#[test]
fn an_overpayment_is_kept_as_credit() {
    let events = decided(requested(), succeed("45000")).unwrap();
    let InvoiceEvent::PaymentSucceeded {
        applied,
        overpayment,
        ..
    } = &events[0]
    else {
        panic!("{events:?}")
    };
    assert_eq!((*applied, *overpayment), (kes("40000"), kes("5000")));
    let mut all = requested();
    all.extend(events);
    assert_eq!(state(&all).credit, Some(kes("5000")));
}

#[test]
fn a_failed_payment_is_recorded_once_and_a_later_success_still_counts() {
    let fail = InvoiceCommand::RecordPaymentFailed {
        payment_id: PAYMENT,
        reason: "insufficient funds".into(),
        provider_reference: None,
    };
    let mut events = requested();
    events.extend(decided(events.clone(), fail.clone()).unwrap());
    assert_eq!(decided(events.clone(), fail), Ok(vec![]));
    assert_eq!(decided(events, succeed("40000")).unwrap().len(), 2);
    assert!(matches!(
        decided(created(), succeed("1")),
        Err(InvoiceError::UnknownPayment(_))
    ));
}

#[test]
fn an_invoice_is_overdue_only_after_its_due_date() {
    let overdue = |on: &str| InvoiceCommand::MarkOverdue { today: d(on) };
    assert_eq!(
        decided(created(), overdue("2026-01-15")),
        Err(InvoiceError::NotDue(d("2026-01-15")))
    );
    Given::with(())
        .given(created())
        .when(overdue("2026-01-16"))
        .then_expect_events(vec![InvoiceEvent::InvoiceOverdue {
            due_date: d("2026-01-15"),
        }]);
    let mut paid = requested();
    paid.extend(decided(paid.clone(), succeed("40000")).unwrap());
    assert!(matches!(
        decided(paid, overdue("2026-02-01")),
        Err(InvoiceError::InvalidTransition { .. })
    ));
}

#[test]
fn voiding_is_only_for_invoices_with_nothing_paid() {
    let void = InvoiceCommand::Void {
        reason: "issued in error".into(),
    };
    Given::with(())
        .given(requested())
        .when(void.clone())
        .then_expect_events(vec![InvoiceEvent::InvoiceVoided {
            reason: "issued in error".into(),
        }]);
    let mut partial = requested();
    partial.extend(decided(partial.clone(), succeed("100")).unwrap());
    assert_eq!(decided(partial, void), Err(InvoiceError::HasPayments));
}

#[test]
fn a_refund_is_capped_by_what_is_left_of_the_payment_and_settles_once() {
    let mut paid = requested();
    paid.extend(decided(paid.clone(), succeed("40000")).unwrap());
    let refund = |amount: &str| InvoiceCommand::RequestRefund {
        refund_id: REFUND,
        payment_id: PAYMENT,
        amount: kes(amount),
        reason: "cancellation".into(),
    };
    assert!(matches!(
        decided(paid.clone(), refund("40000.01")),
        Err(InvoiceError::RefundTooLarge(_))
    ));
    let mut events = paid;
    events.extend(decided(events.clone(), refund("20164.38")).unwrap());
    assert_eq!(decided(events.clone(), refund("20164.38")), Ok(vec![]));
    let issued = InvoiceCommand::RecordRefundIssued {
        refund_id: REFUND,
        provider_reference: Some("sbx_r".into()),
    };
    events.extend(decided(events.clone(), issued.clone()).unwrap());
    assert_eq!(decided(events.clone(), issued), Ok(vec![]));
    assert_eq!(state(&events).refunded(), Some(kes("20164.38")));
}

#[test]
fn an_installment_asks_for_part_of_the_balance_and_never_more() {
    let part = |amount: &str| InvoiceCommand::RequestPayment {
        payment_id: PAYMENT,
        provider: "sandbox".into(),
        amount: Some(kes(amount)),
        payer_contact: None,
        requested_by: None,
    };
    let events = decided(created(), part("10000")).unwrap();
    assert!(
        matches!(&events[0], InvoiceEvent::PaymentRequested { amount, .. } if *amount == kes("10000"))
    );
    for too_much in ["40000.01", "0"] {
        assert!(matches!(
            decided(created(), part(too_much)),
            Err(InvoiceError::Validation(_))
        ));
    }
}

#[test]
fn an_overdue_invoice_is_reminded_after_a_week_and_finally_before_lapse_once_each() {
    use crate::reminders::OverdueStage;
    let remind = |on: &str| InvoiceCommand::RemindOverdue {
        today: d(on),
        grace_days: 30,
    };
    let mut overdue = created();
    overdue.extend(
        decided(
            overdue.clone(),
            InvoiceCommand::MarkOverdue {
                today: d("2026-01-16"),
            },
        )
        .unwrap(),
    );
    assert_eq!(decided(overdue.clone(), remind("2026-01-20")), Ok(vec![]));
    let second = InvoiceEvent::OverdueReminderIssued {
        stage: OverdueStage::Second,
        balance: kes("40000"),
        pay_by: d("2026-02-14"),
    };
    Given::with(())
        .given(overdue.clone())
        .when(remind("2026-01-22"))
        .then_expect_events(vec![second.clone()]);
    overdue.push(second);
    assert_eq!(decided(overdue.clone(), remind("2026-01-30")), Ok(vec![]));
    let last = decided(overdue.clone(), remind("2026-02-11")).unwrap();
    assert!(matches!(
        last.as_slice(),
        [InvoiceEvent::OverdueReminderIssued {
            stage: OverdueStage::Final,
            ..
        }]
    ));
    overdue.extend(last);
    assert_eq!(decided(overdue, remind("2026-02-12")), Ok(vec![]));
    assert!(matches!(
        decided(created(), remind("2026-01-22")),
        Err(InvoiceError::InvalidTransition { .. })
    ));
}

#[test]
fn a_second_payment_while_one_pending_covers_the_balance_is_refused_naming_it() {
    let refused = decided(requested(), request(PaymentId(uuid::Uuid::from_u128(9))));
    assert_eq!(
        refused,
        Err(InvoiceError::PaymentPending {
            payment_id: PAYMENT,
            amount: kes("40000").to_string(),
        })
    );
    // A pending installment leaves the rest payable, and no more.
    let mut part = created();
    part.extend(
        decided(
            part.clone(),
            InvoiceCommand::RequestPayment {
                payment_id: PAYMENT,
                provider: "sandbox".into(),
                amount: Some(kes("15000")),
                payer_contact: None,
                requested_by: None,
            },
        )
        .unwrap(),
    );
    let rest = decided(part.clone(), request(PaymentId(uuid::Uuid::from_u128(9)))).unwrap();
    assert!(matches!(
        &rest[0],
        InvoiceEvent::PaymentRequested { amount, .. } if *amount == kes("25000")
    ));
}

#[test]
fn closing_at_the_end_of_cover_voids_the_unpaid_part_even_with_payments() {
    let mut partly = requested();
    partly.extend(decided(partly.clone(), succeed("10000")).unwrap());
    let events = decided(
        partly.clone(),
        InvoiceCommand::Close {
            reason: "policy cancelled".into(),
        },
    )
    .unwrap();
    assert_eq!(
        events,
        vec![InvoiceEvent::InvoiceVoided {
            reason: "policy cancelled".into()
        }]
    );
    partly.extend(events);
    assert_eq!(state(&partly).balance(), Some(kes("0")));
    // Closed twice: nothing more.
    Given::with(())
        .given(partly)
        .when(InvoiceCommand::Close {
            reason: "again".into(),
        })
        .then_expect_events(vec![]);
}

#[test]
fn credit_pays_what_the_balance_takes_and_declines_the_rest_once() {
    let mut partly = requested();
    partly.extend(decided(partly.clone(), succeed("39000")).unwrap());
    let apply = InvoiceCommand::ApplyCredit {
        key: "event:7".into(),
        amount: kes("1500"),
    };
    let events = decided(partly.clone(), apply.clone()).unwrap();
    assert_eq!(
        events,
        vec![
            InvoiceEvent::CreditApplied {
                key: "event:7".into(),
                amount: kes("1000")
            },
            InvoiceEvent::CreditDeclined {
                key: "event:7".into(),
                amount: kes("500")
            },
            InvoiceEvent::InvoicePaid {
                amount_paid: kes("40000")
            },
        ]
    );
    partly.extend(events);
    Given::with(())
        .given(partly)
        .when(apply)
        .then_expect_events(vec![]);
}

#[test]
fn a_reduction_voids_an_unpaid_invoice_and_declines_what_was_paid() {
    let reduce = |amount: &str| InvoiceCommand::Reduce {
        key: "event:8".into(),
        amount: kes(amount),
        reason: "lower endorsement".into(),
    };
    Given::with(())
        .given(created())
        .when(reduce("40000"))
        .then_expect_events(vec![
            InvoiceEvent::InvoiceReduced {
                key: "event:8".into(),
                amount: kes("40000"),
                reason: "lower endorsement".into(),
            },
            InvoiceEvent::InvoiceVoided {
                reason: "lower endorsement".into(),
            },
        ]);
    let mut partly = requested();
    partly.extend(decided(partly.clone(), succeed("1000")).unwrap());
    Given::with(())
        .given(partly)
        .when(reduce("40000"))
        .then_expect_events(vec![
            InvoiceEvent::InvoiceReduced {
                key: "event:8".into(),
                amount: kes("39000"),
                reason: "lower endorsement".into(),
            },
            InvoiceEvent::ReductionDeclined {
                key: "event:8".into(),
                amount: kes("1000"),
            },
            InvoiceEvent::InvoicePaid {
                amount_paid: kes("1000"),
            },
        ]);
}
