//! Given/when/then tests of every policy command and rejection, and
//! property tests of the pro-rata refund arithmetic.

use chrono::NaiveDate;
use cqrs_es::test::TestFramework;
use cqrs_es::Aggregate as _;
use proptest::prelude::*;
use rust_decimal::Decimal;
use serde_json::json;

use super::ledger::{Charge, PremiumLedger, RecordedPayment};
use super::*;
use crate::currency::Currency;
use crate::ids::{InvoiceId, PaymentId, PolicyId, ProductId, UserId};
use crate::product::{Product, ProductEvent};

type Given = TestFramework<Policy>;

fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn kes(s: &str) -> Money {
    Money::new(s.parse().unwrap(), Currency::KES).unwrap()
}

const POLICY: PolicyId = PolicyId(uuid::Uuid::from_u128(1));
const CUSTOMER: UserId = UserId(uuid::Uuid::from_u128(2));
const PAYMENT: PaymentId = PaymentId(uuid::Uuid::from_u128(3));

fn product(rate: &str) -> Product {
    crate::fixtures::motor_product("MOTOR-COMP", rate)
}

fn application() -> NewApplication {
    NewApplication {
        policy_id: POLICY,
        product_id: ProductId(uuid::Uuid::from_u128(9)),
        product: product("0.04"),
        customer_id: CUSTOMER,
        submitted_by: CUSTOMER,
        sum_insured: kes("1000000"),
        start_date: d("2026-01-01"),
        insured: json!({"registration": "KDA 123A"}),
        today: d("2026-01-01"),
        max_backdate_days: 7,
    }
}

fn decided(
    given: Vec<PolicyEvent>,
    command: PolicyCommand,
) -> Result<Vec<PolicyEvent>, PolicyError> {
    Given::with(()).given(given).when(command).inspect_result()
}

fn submitted() -> Vec<PolicyEvent> {
    decided(vec![], PolicyCommand::SubmitApplication(application())).unwrap()
}

fn approved() -> Vec<PolicyEvent> {
    let mut events = submitted();
    events.extend(decided(events.clone(), approve()).unwrap());
    events
}

fn premium_invoice() -> InvoiceId {
    InvoiceId::derived(POLICY, "term:1")
}

fn paid(amount: &str) -> PolicyEvent {
    PolicyEvent::PremiumPaymentRecorded {
        invoice_id: premium_invoice(),
        payment_id: PAYMENT,
        amount: kes(amount),
        provider: "sandbox".into(),
        credit: None,
    }
}

fn active() -> Vec<PolicyEvent> {
    let mut events = approved();
    events.push(paid("40000"));
    events.push(PolicyEvent::PolicyActivated {
        term_number: 1,
        reinstated_on: None,
    });
    events
}

fn approve() -> PolicyCommand {
    PolicyCommand::ApproveApplication {
        policy_number: "POL-2026-000001".into(),
        due_date: d("2026-01-15"),
        approved_by: None,
    }
}

fn cancel(on: &str) -> PolicyCommand {
    PolicyCommand::Cancel {
        reason: "sold the car".into(),
        effective_date: d(on),
        cancelled_by: Some(CUSTOMER),
    }
}

fn state(events: &[PolicyEvent]) -> Policy {
    let mut policy = Policy::default();
    for e in events {
        policy.apply(e.clone());
    }
    policy
}

fn fields(error: PolicyError) -> Vec<String> {
    match error {
        PolicyError::Validation(errors) => errors.0.into_iter().map(|e| e.field).collect(),
        other => panic!("expected a validation error, got {other:?}"),
    }
}

#[test]
fn submitting_quotes_the_premium_at_the_current_rate_and_a_twelve_month_term() {
    let events = submitted();
    let PolicyEvent::ApplicationSubmitted(app) = &events[0] else {
        panic!("{events:?}")
    };
    assert_eq!(app.premium, kes("40000.00"));
    assert_eq!(app.end_date, d("2026-12-31"));
    assert_eq!(app.product_code, "MOTOR-COMP");
}

#[test]
fn submitting_to_a_retired_product_is_refused() {
    let mut new = application();
    new.product
        .apply(ProductEvent::ProductRetired { reason: None });
    assert_eq!(
        decided(vec![], PolicyCommand::SubmitApplication(new)),
        Err(PolicyError::ProductNotActive)
    );
}

#[test]
fn submitting_outside_the_bounds_or_backdated_too_far_lists_each_field() {
    let mut new = application();
    new.sum_insured = kes("100");
    assert_eq!(
        fields(decided(vec![], PolicyCommand::SubmitApplication(new)).unwrap_err()),
        vec!["sum_insured"]
    );
    let mut new = application();
    new.start_date = d("2025-12-01");
    new.insured = json!("a car");
    assert_eq!(
        fields(decided(vec![], PolicyCommand::SubmitApplication(new)).unwrap_err()),
        vec!["start_date", "insured"]
    );
}

#[test]
fn submitting_twice_is_refused() {
    assert_eq!(
        decided(submitted(), PolicyCommand::SubmitApplication(application())),
        Err(PolicyError::AlreadySubmitted)
    );
}

#[test]
fn approving_issues_the_number_and_the_first_term_with_a_derived_invoice() {
    let events = decided(submitted(), approve()).unwrap();
    let PolicyEvent::ApplicationApproved {
        policy_number,
        term,
        ..
    } = &events[0]
    else {
        panic!("{events:?}")
    };
    assert_eq!(policy_number, "POL-2026-000001");
    assert_eq!(term.invoice_id, premium_invoice());
    assert_eq!(term.premium, kes("40000"));
    assert_eq!(term.due_date, d("2026-01-15"));
}

#[test]
fn approving_twice_is_an_invalid_transition() {
    assert_eq!(
        decided(approved(), approve()),
        Err(PolicyError::InvalidTransition {
            action: "approve",
            status: "approved"
        })
    );
}

#[test]
fn rejecting_needs_a_reason_and_a_submitted_application() {
    let reject = |r: &str| PolicyCommand::RejectApplication { reason: r.into() };
    Given::with(())
        .given(submitted())
        .when(reject(" incomplete documents "))
        .then_expect_events(vec![PolicyEvent::ApplicationRejected {
            reason: "incomplete documents".into(),
        }]);
    assert_eq!(
        fields(decided(submitted(), reject("  ")).unwrap_err()),
        vec!["reason"]
    );
    assert!(matches!(
        decided(approved(), reject("late")),
        Err(PolicyError::InvalidTransition { .. })
    ));
    assert_eq!(decided(vec![], reject("x")), Err(PolicyError::NotFound));
}

#[test]
fn paying_the_first_premium_activates_and_repeats_change_nothing() {
    let activate = PolicyCommand::Activate {
        today: None,
        invoice_id: premium_invoice(),
    };
    Given::with(())
        .given(approved())
        .when(activate.clone())
        .then_expect_events(vec![PolicyEvent::PolicyActivated {
            term_number: 1,
            reinstated_on: None,
        }]);
    Given::with(())
        .given(active())
        .when(activate)
        .then_expect_events(vec![]);
}

#[test]
fn a_payment_is_recorded_once_and_only_for_the_policys_invoices() {
    let record = |invoice_id| PolicyCommand::RecordPremiumPayment {
        invoice_id,
        payment_id: PAYMENT,
        amount: kes("40000"),
        credit: None,
        provider: "sandbox".into(),
    };
    Given::with(())
        .given(approved())
        .when(record(premium_invoice()))
        .then_expect_events(vec![paid("40000")]);
    Given::with(())
        .given(active())
        .when(record(premium_invoice()))
        .then_expect_events(vec![]);
    assert!(matches!(
        decided(approved(), record(InvoiceId(uuid::Uuid::from_u128(77)))),
        Err(PolicyError::UnknownInvoice(_))
    ));
}

#[test]
fn an_invoice_paid_after_a_lapse_puts_nothing_back_in_force() {
    let mut lapsed = approved();
    lapsed.push(PolicyEvent::PolicyLapsed {
        due_date: d("2026-01-15"),
        lapsed_on: d("2026-02-20"),
        refunds: vec![],
        credit_note: None,
    });
    // The payment is returned (`PaymentReturned`); cover stays ended.
    Given::with(())
        .given(lapsed)
        .when(PolicyCommand::Activate {
            today: None,
            invoice_id: premium_invoice(),
        })
        .then_expect_events(vec![]);
}

#[test]
fn a_lapse_refunds_what_was_paid_towards_a_policy_never_in_force() {
    let mut partly_paid = approved();
    partly_paid.push(paid("5000"));
    let events = decided(
        partly_paid,
        PolicyCommand::Lapse {
            today: d("2026-03-01"),
            grace_days: 30,
        },
    )
    .unwrap();
    let PolicyEvent::PolicyLapsed { refunds, .. } = &events[0] else {
        panic!("{events:?}")
    };
    assert_eq!(refunds.len(), 1);
    assert_eq!(refunds[0].amount, kes("5000"));
    assert_eq!(refunds[0].payment_id, PAYMENT);
}

fn endorse(sum: &str, on: &str) -> PolicyCommand {
    PolicyCommand::Endorse {
        sum_insured: kes(sum),
        effective_date: d(on),
        due_date: d("2026-07-20"),
    }
}

#[test]
fn endorsing_up_invoices_the_difference_for_the_remaining_days() {
    // 1,000,000 → 1,500,000 at 4%: 20,000 more a year; from 2 July, 183 of
    // 365 days remain: 10,027.40.
    let events = decided(active(), endorse("1500000", "2026-07-02")).unwrap();
    let PolicyEvent::PolicyEndorsed {
        adjustment,
        invoice_id,
        refunds,
        annual_premium,
        ..
    } = &events[0]
    else {
        panic!("{events:?}")
    };
    assert_eq!(*adjustment, kes("10027.40"));
    assert_eq!(*annual_premium, kes("60000"));
    assert_eq!(
        *invoice_id,
        Some(InvoiceId::derived(POLICY, "endorsement:1"))
    );
    assert!(refunds.is_empty());
}

#[test]
fn endorsing_down_refunds_the_paid_difference_through_the_original_payment() {
    let events = decided(active(), endorse("500000", "2026-07-02")).unwrap();
    let PolicyEvent::PolicyEndorsed {
        adjustment,
        invoice_id,
        refunds,
        ..
    } = &events[0]
    else {
        panic!("{events:?}")
    };
    assert_eq!(*adjustment, kes("-10027.40"));
    assert_eq!(*invoice_id, None);
    assert_eq!(refunds.len(), 1);
    assert_eq!(refunds[0].payment_id, PAYMENT);
    assert_eq!(refunds[0].amount, kes("10027.40"));
}

#[test]
fn endorsing_needs_an_active_policy_a_date_in_the_term_and_a_new_sum_in_bounds() {
    assert!(matches!(
        decided(approved(), endorse("1500000", "2026-07-02")),
        Err(PolicyError::InvalidTransition {
            action: "endorse",
            ..
        })
    ));
    assert_eq!(
        fields(decided(active(), endorse("1000000", "2027-02-01")).unwrap_err()),
        vec!["effective_date", "sum_insured"]
    );
    assert_eq!(
        fields(decided(active(), endorse("50000000", "2026-03-01")).unwrap_err()),
        vec!["sum_insured"]
    );
}

#[test]
fn cancelling_mid_term_refunds_the_unearned_paid_premium() {
    // Cover ends 30 June: 181 of 365 days earned → 19,835.62 earned.
    let events = decided(active(), cancel("2026-06-30")).unwrap();
    let PolicyEvent::PolicyCancelled {
        refund, refunds, ..
    } = &events[0]
    else {
        panic!("{events:?}")
    };
    assert_eq!(*refund, kes("20164.38"));
    assert_eq!(refunds[0].amount, kes("20164.38"));
    assert_eq!(refunds[0].invoice_id, premium_invoice());
}

#[test]
fn cancelling_an_unpaid_policy_refunds_nothing() {
    let events = decided(approved(), cancel("2026-03-01")).unwrap();
    let PolicyEvent::PolicyCancelled {
        refund, refunds, ..
    } = &events[0]
    else {
        panic!("{events:?}")
    };
    assert_eq!(*refund, kes("0"));
    assert!(refunds.is_empty());
}

#[test]
fn cancelling_refuses_closed_policies_dates_past_cover_and_no_reason() {
    let mut cancelled = active();
    cancelled.extend(decided(active(), cancel("2026-06-30")).unwrap());
    assert!(matches!(
        decided(cancelled, cancel("2026-07-01")),
        Err(PolicyError::InvalidTransition {
            action: "cancel",
            status: "cancelled"
        })
    ));
    assert_eq!(
        fields(decided(active(), cancel("2027-01-05")).unwrap_err()),
        vec!["effective_date"]
    );
    let no_reason = PolicyCommand::Cancel {
        reason: String::new(),
        effective_date: d("2026-03-01"),
        cancelled_by: None,
    };
    assert_eq!(
        fields(decided(active(), no_reason).unwrap_err()),
        vec!["reason"]
    );
}

#[test]
fn an_unpaid_policy_lapses_only_after_its_grace_period() {
    let lapse = |today: &str| PolicyCommand::Lapse {
        today: d(today),
        grace_days: 30,
    };
    assert_eq!(
        decided(approved(), lapse("2026-02-14")),
        Err(PolicyError::TooEarly {
            action: "lapse",
            date: d("2026-02-15")
        })
    );
    Given::with(())
        .given(approved())
        .when(lapse("2026-02-15"))
        .then_expect_events(vec![PolicyEvent::PolicyLapsed {
            due_date: d("2026-01-15"),
            lapsed_on: d("2026-02-15"),
            refunds: vec![],
            credit_note: Some(kes("0")),
        }]);
    assert!(matches!(
        decided(active(), lapse("2026-03-01")),
        Err(PolicyError::InvalidTransition { .. })
    ));
}

#[test]
fn a_policy_expires_after_its_end_date_unless_a_paid_renewal_starts() {
    let expire = |today: &str| PolicyCommand::Expire { today: d(today) };
    assert!(matches!(
        decided(active(), expire("2026-12-31")),
        Err(PolicyError::TooEarly { .. })
    ));
    Given::with(())
        .given(active())
        .when(expire("2027-01-01"))
        .then_expect_events(vec![PolicyEvent::PolicyExpired {
            term_number: 1,
            end_date: d("2026-12-31"),
        }]);
    let mut renewed = active();
    renewed.extend(decided(active(), renew("0.05")).unwrap());
    renewed.push(PolicyEvent::RenewalPaid { term_number: 2 });
    Given::with(())
        .given(renewed)
        .when(expire("2027-01-01"))
        .then_expect_events(vec![PolicyEvent::RenewalTermStarted { term_number: 2 }]);
}

fn renew(rate: &str) -> PolicyCommand {
    PolicyCommand::Renew {
        product: product(rate),
        due_date: d("2026-12-31"),
    }
}

#[test]
fn renewing_prices_the_next_term_at_todays_rate() {
    let events = decided(active(), renew("0.05")).unwrap();
    let PolicyEvent::PolicyRenewed { term } = &events[0] else {
        panic!("{events:?}")
    };
    assert_eq!(term.number, 2);
    assert_eq!(term.start_date, d("2027-01-01"));
    assert_eq!(term.end_date, d("2027-12-31"));
    assert_eq!(term.premium, kes("50000"));
    assert_eq!(term.invoice_id, InvoiceId::derived(POLICY, "term:2"));
}

#[test]
fn renewing_twice_or_a_cancelled_policy_or_at_a_retired_product_is_refused() {
    let mut renewed = active();
    renewed.extend(decided(active(), renew("0.05")).unwrap());
    assert_eq!(
        decided(renewed, renew("0.05")),
        Err(PolicyError::AlreadyRenewed(2))
    );
    assert!(matches!(
        decided(approved(), renew("0.05")),
        Err(PolicyError::InvalidTransition { .. })
    ));
    let mut retired = product("0.05");
    retired.apply(ProductEvent::ProductRetired { reason: None });
    let command = PolicyCommand::Renew {
        product: retired,
        due_date: d("2026-12-31"),
    };
    assert_eq!(
        decided(active(), command),
        Err(PolicyError::ProductNotActive)
    );
}

#[test]
fn an_expired_policy_renewed_and_paid_is_active_in_its_new_term() {
    let mut events = active();
    events.push(PolicyEvent::PolicyExpired {
        term_number: 1,
        end_date: d("2026-12-31"),
    });
    events.extend(decided(events.clone(), renew("0.05")).unwrap());
    let invoice_id = InvoiceId::derived(POLICY, "term:2");
    let activated = decided(
        events.clone(),
        PolicyCommand::Activate {
            invoice_id,
            today: None,
        },
    )
    .unwrap();
    assert_eq!(
        activated,
        vec![PolicyEvent::PolicyActivated {
            term_number: 2,
            reinstated_on: None,
        }]
    );
    events.extend(activated);
    let policy = state(&events);
    assert_eq!(policy.status, PolicyStatus::Active);
    assert_eq!(policy.current_term().unwrap().start_date, d("2027-01-01"));
}

#[test]
fn a_renewal_paid_before_the_end_is_recorded_while_the_term_runs() {
    let mut events = active();
    events.extend(decided(events.clone(), renew("0.05")).unwrap());
    let invoice_id = InvoiceId::derived(POLICY, "term:2");
    Given::with(())
        .given(events)
        .when(PolicyCommand::Activate {
            invoice_id,
            today: None,
        })
        .then_expect_events(vec![PolicyEvent::RenewalPaid { term_number: 2 }]);
}

fn ledger(premium: Money, days: i64, paid: Money) -> PremiumLedger {
    let from = d("2026-01-01");
    let mut ledger = PremiumLedger::new(Currency::KES);
    ledger.charges.push(Charge {
        term_number: 1,
        amount: premium,
        from,
        to: from + chrono::Days::new(days as u64 - 1),
        invoice_id: Some(premium_invoice()),
    });
    if !paid.amount().is_zero() {
        ledger.payments.push(RecordedPayment {
            invoice_id: premium_invoice(),
            term_number: 1,
            payment_id: PAYMENT,
            amount: paid,
            provider: "sandbox".into(),
            refunded: Money::zero(Currency::KES),
            credit: None,
        });
    }
    ledger
}

proptest! {
    #[test]
    fn refund_plus_retained_premium_is_what_was_paid_to_the_cent(
        premium_cents in 100i64..100_000_000,
        paid_share in 0u32..=100,
        days in 1i64..=731,
        cancel_offset in -30i64..800,
    ) {
        let premium = Money::new(Decimal::new(premium_cents, 2), Currency::KES).unwrap();
        let paid = premium.checked_mul_rounded(Decimal::new(i64::from(paid_share), 2)).unwrap();
        let ledger = ledger(premium, days, paid);
        let on = d("2026-01-01") + chrono::TimeDelta::days(cancel_offset);
        let refund = ledger.refund_if_cancelled(on);
        let earned = ledger.earned_through(on);
        let retained = paid.checked_sub(&refund).unwrap();
        prop_assert_eq!(refund.checked_add(&retained).unwrap(), paid);
        prop_assert!(!refund.is_negative());
        prop_assert!(refund.amount() <= paid.amount());
        // Retained premium is what was earned, or everything paid if less.
        prop_assert_eq!(retained.amount(), earned.amount().min(paid.amount()));
        // What was not paid is not refunded; a full payment refunds the unearned part.
        if paid == premium {
            prop_assert_eq!(refund, premium.checked_sub(&earned).unwrap());
        }
        let refunds = ledger.allocate_refund(refund, |_| true, POLICY, "cancellation");
        let allocated = refunds.iter().fold(Money::zero(Currency::KES), |t, r| t.checked_add(&r.amount).unwrap());
        prop_assert_eq!(allocated, refund);
    }

    #[test]
    fn a_later_cancellation_never_refunds_more(
        premium_cents in 100i64..100_000_000,
        days in 1i64..=731,
        a in -30i64..800,
        b in -30i64..800,
    ) {
        let premium = Money::new(Decimal::new(premium_cents, 2), Currency::KES).unwrap();
        let ledger = ledger(premium, days, premium);
        let (early, late) = (a.min(b), a.max(b));
        let start = d("2026-01-01");
        let refund_early = ledger.refund_if_cancelled(start + chrono::TimeDelta::days(early));
        let refund_late = ledger.refund_if_cancelled(start + chrono::TimeDelta::days(late));
        prop_assert!(refund_late.amount() <= refund_early.amount());
    }
}

fn reserve(claim: u128, total: &str, version: u64) -> PolicyCommand {
    PolicyCommand::ReserveClaimCover {
        claim_id: crate::ids::ClaimId(uuid::Uuid::from_u128(claim)),
        total: kes(total),
        claim_version: version,
        incident_date: d("2026-03-01"),
    }
}

#[test]
fn claims_together_never_exceed_the_sum_insured() {
    let mut events = active();
    events.extend(decided(events.clone(), reserve(1, "700000", 3)).unwrap());
    assert_eq!(
        decided(events.clone(), reserve(2, "300000.01", 3)),
        Err(PolicyError::ExceedsSumInsured(kes("300000")))
    );
    let second = decided(events.clone(), reserve(2, "300000", 3)).unwrap();
    assert!(
        matches!(&second[0], PolicyEvent::ClaimCoverReserved { cover_left, .. } if *cover_left == kes("0"))
    );
    // Raising one claim's total counts only its increase.
    assert!(decided(events.clone(), reserve(1, "1000000", 4)).is_ok());
    assert!(matches!(
        decided(submitted(), reserve(1, "1", 1)),
        Err(PolicyError::InvalidTransition { .. })
    ));
}

#[test]
fn the_sum_insured_is_a_limit_per_term_and_an_endorsement_keeps_above_what_is_approved() {
    let mut events = active();
    events.extend(decided(events.clone(), reserve(1, "800000", 1)).unwrap());
    let below = decided(events.clone(), endorse("500000", "2026-07-02")).unwrap_err();
    assert_eq!(below, PolicyError::BelowApprovedClaims(kes("800000")));
    assert!(decided(events.clone(), endorse("800000", "2026-07-02")).is_ok());
    // Renewed and in force: a claim of the new term has the whole cover.
    let renewed = decided(
        events.clone(),
        PolicyCommand::Renew {
            product: product("0.04"),
            due_date: d("2026-12-15"),
        },
    )
    .unwrap();
    events.extend(renewed);
    events.push(PolicyEvent::RenewalPaid { term_number: 2 });
    events.push(PolicyEvent::RenewalTermStarted { term_number: 2 });
    let next_term = PolicyCommand::ReserveClaimCover {
        claim_id: crate::ids::ClaimId(uuid::Uuid::from_u128(2)),
        total: kes("1000000"),
        claim_version: 1,
        incident_date: d("2027-02-01"),
    };
    assert!(decided(events.clone(), next_term).is_ok());
    // The first term's claims still count against the first term.
    assert_eq!(
        decided(events.clone(), reserve(3, "200000.01", 1)),
        Err(PolicyError::ExceedsSumInsured(kes("200000")))
    );
    let outside = PolicyCommand::ReserveClaimCover {
        claim_id: crate::ids::ClaimId(uuid::Uuid::from_u128(4)),
        total: kes("1"),
        claim_version: 1,
        incident_date: d("2025-12-31"),
    };
    assert_eq!(
        decided(events, outside),
        Err(PolicyError::IncidentOutsideCover(d("2025-12-31")))
    );
}

#[test]
fn of_concurrent_approvals_of_one_claim_only_one_holds_its_cover() {
    // Two requests read claim 1 at version 3; the first to reserve wins.
    let mut events = active();
    events.extend(decided(events.clone(), reserve(1, "1000000", 3)).unwrap());
    assert_eq!(
        decided(events.clone(), reserve(1, "400000", 3)),
        Err(PolicyError::ClaimDecidedMeanwhile(3))
    );
    // The loser putting back what it read changes nothing it did not do.
    let release = |to: &str, version: u64| PolicyCommand::ReleaseClaimCover {
        claim_id: crate::ids::ClaimId(uuid::Uuid::from_u128(1)),
        to: kes(to),
        claim_version: version,
    };
    assert_eq!(decided(events.clone(), release("0", 2)), Ok(vec![]));
    // The winner, refused by the claim after all, puts back its own.
    let released = decided(events.clone(), release("0", 3)).unwrap();
    assert!(matches!(
        &released[0],
        PolicyEvent::ClaimCoverReserved { total, previous, .. }
            if (*total, *previous) == (kes("0"), kes("1000000"))
    ));
    // Whoever won, the cover is held once: another claim finds none.
    assert_eq!(
        decided(events, reserve(2, "0.01", 1)),
        Err(PolicyError::ExceedsSumInsured(kes("0")))
    );
}

#[test]
fn a_policy_in_force_is_reminded_thirty_then_seven_days_before_it_ends_once_each() {
    let remind = |on: &str| PolicyCommand::RemindExpiry { today: d(on) };
    let end = state(&active()).current_term().unwrap().end_date;
    assert_eq!(end, d("2026-12-31"));
    assert_eq!(decided(active(), remind("2026-11-30")), Ok(vec![]));
    let thirty = PolicyEvent::ExpiryReminderIssued {
        term_number: 1,
        end_date: end,
        days_before: 30,
    };
    Given::with(())
        .given(active())
        .when(remind("2026-12-01"))
        .then_expect_events(vec![thirty.clone()]);
    let mut events = active();
    events.push(thirty);
    assert_eq!(decided(events.clone(), remind("2026-12-20")), Ok(vec![]));
    let seven = decided(events.clone(), remind("2026-12-24")).unwrap();
    assert_eq!(
        seven,
        vec![PolicyEvent::ExpiryReminderIssued {
            term_number: 1,
            end_date: end,
            days_before: 7,
        }]
    );
    events.extend(seven);
    assert_eq!(decided(events, remind("2026-12-30")), Ok(vec![]));
    assert!(matches!(
        decided(approved(), remind("2026-12-24")),
        Err(PolicyError::InvalidTransition { .. })
    ));
}

#[test]
fn a_payment_settling_after_the_cancellation_goes_back_in_full() {
    let mut events = approved();
    events.extend(decided(events.clone(), cancel("2026-01-01")).unwrap());
    let late = PaymentId(uuid::Uuid::from_u128(44));
    let decided = decided(
        events,
        PolicyCommand::RecordPremiumPayment {
            invoice_id: premium_invoice(),
            payment_id: late,
            amount: kes("40000"),
            credit: Some(kes("40000")),
            provider: "mpesa".into(),
        },
    )
    .unwrap();
    let PolicyEvent::PaymentReturned {
        refunds,
        credit_note,
        ..
    } = &decided[1]
    else {
        panic!("{decided:?}")
    };
    assert_eq!(refunds.len(), 1);
    assert_eq!(
        (refunds[0].payment_id, refunds[0].amount),
        (late, kes("40000"))
    );
    // It landed on the closed invoice as credit: no premium to give back.
    assert_eq!(*credit_note, Some(kes("0")));
}

#[test]
fn a_policy_never_in_force_refunds_everything_paid_on_its_start_date() {
    let mut partly = approved();
    partly.push(paid("10000"));
    let events = decided(partly, cancel("2026-01-01")).unwrap();
    let PolicyEvent::PolicyCancelled { refund, .. } = &events[0] else {
        panic!("{events:?}")
    };
    assert_eq!(*refund, kes("10000"));
}

#[test]
fn credit_pays_the_next_invoice_before_anything_is_charged() {
    let mut events = approved();
    events.push(PolicyEvent::PremiumPaymentRecorded {
        invoice_id: premium_invoice(),
        payment_id: PAYMENT,
        amount: kes("45000"),
        provider: "sandbox".into(),
        credit: Some(kes("5000")),
    });
    events.push(PolicyEvent::PolicyActivated {
        term_number: 1,
        reinstated_on: None,
    });
    let endorsed = decided(events, endorse("1200000", "2026-07-02")).unwrap();
    // (48,000 − 40,000) × 183/365 = 4,010.96, all of it from the credit.
    let PolicyEvent::PolicyCreditApplied {
        amount,
        credit_left,
        ..
    } = &endorsed[1]
    else {
        panic!("{endorsed:?}")
    };
    assert_eq!((*amount, *credit_left), (kes("4010.96"), kes("989.04")));
}

#[test]
fn a_lower_endorsement_first_takes_off_an_unpaid_higher_one_and_endorsements_go_in_order() {
    let mut events = active();
    events.extend(decided(events.clone(), endorse("1200000", "2026-07-02")).unwrap());
    let lowered = decided(events.clone(), endorse("1000000", "2026-07-02")).unwrap();
    let PolicyEvent::PolicyEndorsed {
        offsets, refunds, ..
    } = &lowered[0]
    else {
        panic!("{lowered:?}")
    };
    assert_eq!(offsets.len(), 1);
    assert_eq!(offsets[0].amount, kes("4010.96"));
    assert!(
        refunds.is_empty(),
        "nothing paid beyond what is due: {refunds:?}"
    );
    let earlier = decided(events, endorse("1000000", "2026-07-01")).unwrap_err();
    assert_eq!(fields(earlier), vec!["effective_date"]);
}

#[test]
fn an_expired_policy_paid_late_is_covered_from_the_payment_not_over_the_gap() {
    let mut events = active();
    events.push(PolicyEvent::PolicyExpired {
        term_number: 1,
        end_date: d("2026-12-31"),
    });
    events.extend(decided(events.clone(), renew("0.05")).unwrap());
    let activated = decided(
        events.clone(),
        PolicyCommand::Activate {
            invoice_id: InvoiceId::derived(POLICY, "term:2"),
            today: Some(d("2027-01-10")),
        },
    )
    .unwrap();
    events.extend(activated);
    let policy = state(&events);
    assert_eq!(policy.status, PolicyStatus::Active);
    assert_eq!(policy.cover_on(d("2026-12-31")).map(|t| t.number), Some(1));
    assert!(policy.cover_on(d("2027-01-09")).is_none(), "the unpaid gap");
    assert_eq!(policy.cover_on(d("2027-01-10")).map(|t| t.number), Some(2));
    // A claim for a loss in the gap finds no cover.
    let claim = PolicyCommand::ReserveClaimCover {
        claim_id: crate::ids::ClaimId(uuid::Uuid::from_u128(1)),
        total: kes("1"),
        claim_version: 1,
        incident_date: d("2027-01-05"),
    };
    assert_eq!(
        decided(events, claim),
        Err(PolicyError::IncidentOutsideCover(d("2027-01-05")))
    );
}

#[test]
fn a_quote_is_what_submitting_would_record_and_records_nothing() {
    let quoted = Policy::quote(application()).unwrap();
    let PolicyEvent::ApplicationSubmitted(submitted) = &submitted()[0] else {
        panic!()
    };
    assert_eq!(&quoted, submitted);
    assert_eq!(quoted.premium, kes("40000"));
    assert_eq!(quoted.end_date, d("2026-12-31"));
    // Outside the product's range: the same refusal as submitting.
    let mut too_much = application();
    too_much.sum_insured = kes("999999999");
    assert_eq!(
        Policy::quote(too_much.clone()).unwrap_err(),
        decided(vec![], PolicyCommand::SubmitApplication(too_much)).unwrap_err()
    );
}

#[test]
fn a_cancellation_quote_is_what_cancelling_would_refund_and_keep() {
    let policy = state(&active());
    let quote = policy.cancellation_quote(d("2026-06-30")).unwrap();
    assert_eq!(quote.refund, kes("20164.38"));
    assert_eq!(quote.retained, kes("19835.62"));
    assert_eq!(
        quote.refund.checked_add(&quote.retained).unwrap(),
        kes("40000"),
        "refund + retained = paid"
    );
    // Refused as cancelling would be: past cover, or once cancelled.
    assert!(policy.cancellation_quote(d("2027-06-30")).is_err());
    let mut cancelled = active();
    cancelled.extend(decided(active(), cancel("2026-06-30")).unwrap());
    assert!(matches!(
        state(&cancelled).cancellation_quote(d("2026-07-01")),
        Err(PolicyError::InvalidTransition { .. })
    ));
}
