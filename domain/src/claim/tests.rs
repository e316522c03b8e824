//! Given/when/then tests of every claim command and rejection.

use chrono::NaiveDate;
use cqrs_es::test::TestFramework;
use cqrs_es::Aggregate as _;

use super::*;
use crate::currency::Currency;
use crate::ids::{
    ClaimId, DocumentId, InvoiceId, NoteId, PaymentId, PayoutId, PolicyId, ProductId,
};
use crate::policy::{Application, Policy, PolicyEvent, Term};
use crate::role::Role;

type Given = TestFramework<Claim>;

fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn kes(s: &str) -> Money {
    Money::new(s.parse().unwrap(), Currency::KES).unwrap()
}

const CLAIM: ClaimId = ClaimId(uuid::Uuid::from_u128(1));
const POLICY: PolicyId = PolicyId(uuid::Uuid::from_u128(2));
const CUSTOMER: UserId = UserId(uuid::Uuid::from_u128(3));
const STAFF: UserId = UserId(uuid::Uuid::from_u128(4));
const PAYOUT: PayoutId = PayoutId(uuid::Uuid::from_u128(5));

fn policy(active: bool) -> Policy {
    let mut policy = Policy::default();
    policy.apply(PolicyEvent::ApplicationSubmitted(Application {
        policy_id: POLICY,
        product_id: ProductId(uuid::Uuid::from_u128(9)),
        product_code: "MOTOR".into(),
        product_name: "Motor".into(),
        customer_id: CUSTOMER,
        submitted_by: CUSTOMER,
        sum_insured: kes("1000000"),
        premium: kes("40000"),
        rate: "0.04".parse().unwrap(),
        minimum_premium: kes("15000"),
        sum_insured_min: kes("200000"),
        sum_insured_max: kes("20000000"),
        term_months: 12,
        start_date: d("2026-01-01"),
        end_date: d("2026-12-31"),
        insured: serde_json::json!({}),
    }));
    policy.apply(PolicyEvent::ApplicationApproved {
        policy_number: "POL-2026-000001".into(),
        term: Term {
            number: 1,
            start_date: d("2026-01-01"),
            end_date: d("2026-12-31"),
            sum_insured: kes("1000000"),
            premium: kes("40000"),
            rate: "0.04".parse().unwrap(),
            minimum_premium: kes("15000"),
            invoice_id: InvoiceId::derived(POLICY, "term:1"),
            due_date: d("2026-01-15"),
        },
        approved_by: None,
    });
    if active {
        policy.apply(PolicyEvent::PremiumPaymentRecorded {
            invoice_id: InvoiceId::derived(POLICY, "term:1"),
            payment_id: PaymentId(uuid::Uuid::from_u128(6)),
            amount: kes("40000"),
            provider: "sandbox".into(),
            credit: None,
        });
        policy.apply(PolicyEvent::PolicyActivated {
            term_number: 1,
            reinstated_on: None,
        });
    }
    policy
}

fn filing(incident: &str) -> NewClaim {
    NewClaim {
        claim_id: CLAIM,
        claim_number: "CLM-2026-000001".into(),
        policy: policy(true),
        filed_by: CUSTOMER,
        incident_date: d(incident),
        description: " Rear-ended at a junction in Westlands ".into(),
        claimed_amount: kes("120000"),
        today: d("2026-06-10"),
        reporting_days: 90,
    }
}

fn decided(given: Vec<ClaimEvent>, command: ClaimCommand) -> Result<Vec<ClaimEvent>, ClaimError> {
    Given::with(()).given(given).when(command).inspect_result()
}

fn filed() -> Vec<ClaimEvent> {
    decided(vec![], ClaimCommand::File(Box::new(filing("2026-06-01")))).unwrap()
}

fn assigned() -> Vec<ClaimEvent> {
    let mut events = filed();
    events.push(ClaimEvent::ClaimAssigned {
        assignee: STAFF,
        assigned_by: Some(STAFF),
    });
    events
}

fn approve(amount: &str, role: Role) -> ClaimCommand {
    ClaimCommand::Approve {
        approved_amount: kes(amount),
        approved_by: Some(STAFF),
        approver_role: role,
        authority_limit: kes("500000"),
        dual_control_limit: kes("1000000"),
    }
}

fn approved(amount: &str) -> Vec<ClaimEvent> {
    let mut events = assigned();
    events.extend(decided(events.clone(), approve(amount, Role::Staff)).unwrap());
    events
}

fn payout() -> ClaimCommand {
    ClaimCommand::RequestPayout {
        payout_id: PAYOUT,
        provider: "sandbox".into(),
        claimant_contact: None,
        requested_contact: None,
    }
}

#[test]
fn filing_records_the_loss_against_the_policy_in_force() {
    let events = filed();
    let ClaimEvent::ClaimFiled(details) = &events[0] else {
        panic!("{events:?}")
    };
    assert_eq!(details.policy_number, "POL-2026-000001");
    assert_eq!(details.customer_id, CUSTOMER);
    assert_eq!(details.description, "Rear-ended at a junction in Westlands");
}

#[test]
fn filing_on_a_policy_not_in_force_or_outside_cover_is_refused() {
    let mut unpaid = filing("2026-06-01");
    unpaid.policy = policy(false);
    assert_eq!(
        decided(vec![], ClaimCommand::File(Box::new(unpaid))),
        Err(ClaimError::PolicyNotActive)
    );
    assert_eq!(
        decided(vec![], ClaimCommand::File(Box::new(filing("2025-12-31")))),
        Err(ClaimError::IncidentOutsideCover {
            from: d("2026-01-01"),
            to: d("2026-12-31")
        })
    );
    assert!(matches!(
        decided(vec![], ClaimCommand::File(Box::new(filing("2026-06-11")))),
        Err(ClaimError::Validation(_))
    ));
    assert_eq!(
        decided(filed(), ClaimCommand::File(Box::new(filing("2026-06-01")))),
        Err(ClaimError::AlreadyFiled)
    );
}

#[test]
fn amending_is_only_while_submitted() {
    let amend = ClaimCommand::Amend {
        description: None,
        claimed_amount: Some(kes("150000")),
        amended_by: Some(CUSTOMER),
    };
    let events = decided(filed(), amend.clone()).unwrap();
    assert!(
        matches!(&events[0], ClaimEvent::ClaimAmended { claimed_amount, .. } if *claimed_amount == kes("150000"))
    );
    assert!(matches!(
        decided(assigned(), amend),
        Err(ClaimError::InvalidTransition {
            action: "amend",
            status: "under_review"
        })
    ));
}

#[test]
fn documents_and_notes_are_kept_and_empty_notes_refused() {
    let document = Document {
        document_id: DocumentId(uuid::Uuid::from_u128(7)),
        filename: "photo.jpg".into(),
        content_type: "image/jpeg".into(),
        size: 1024,
        sha256: "ab".repeat(32),
        storage_key: "claims/1/7".into(),
        store: None,
        uploaded_by: CUSTOMER,
    };
    Given::with(())
        .given(filed())
        .when(ClaimCommand::AttachDocument(document.clone()))
        .then_expect_events(vec![ClaimEvent::DocumentAttached(document)]);
    let note = |text: &str| Note {
        note_id: NoteId(uuid::Uuid::from_u128(8)),
        text: text.into(),
        author: STAFF,
        internal: true,
    };
    assert!(decided(filed(), ClaimCommand::AddNote(note("  "))).is_err());
    assert_eq!(
        decided(filed(), ClaimCommand::AddNote(note(" check photos "))).unwrap(),
        vec![ClaimEvent::NoteAdded(note("check photos"))]
    );
}

#[test]
fn assigning_puts_it_under_review() {
    Given::with(())
        .given(filed())
        .when(ClaimCommand::Assign {
            assignee: STAFF,
            assigned_by: Some(STAFF),
        })
        .then_expect_events(vec![ClaimEvent::ClaimAssigned {
            assignee: STAFF,
            assigned_by: Some(STAFF),
        }]);
}

#[test]
fn a_reserve_must_be_in_the_claims_currency() {
    let set = |m: Money| ClaimCommand::SetReserve {
        amount: m,
        limit: Some(kes("1000000")),
    };
    assert_eq!(
        decided(assigned(), set(kes("100000"))),
        Ok(vec![ClaimEvent::ReserveSet {
            amount: kes("100000"),
            previous: None
        }])
    );
    let usd = Money::new("10".parse().unwrap(), Currency::parse("USD").unwrap()).unwrap();
    assert!(matches!(
        decided(assigned(), set(usd)),
        Err(ClaimError::Validation(_))
    ));
    // No more than the claim could ever cost.
    assert!(matches!(
        decided(assigned(), set(kes("1000000.01"))),
        Err(ClaimError::Validation(_))
    ));
}

#[test]
fn approving_partially_within_the_claim_and_the_staff_authority() {
    assert!(
        matches!(&approved("100000")[2], ClaimEvent::ClaimApproved { approved_amount, .. } if *approved_amount == kes("100000"))
    );
    assert_eq!(
        decided(assigned(), approve("120000.01", Role::Staff)),
        Err(ClaimError::ExceedsClaimed(kes("120000")))
    );
    let mut big = filing("2026-06-01");
    big.claimed_amount = kes("900000");
    let big = decided(vec![], ClaimCommand::File(Box::new(big))).unwrap();
    assert_eq!(
        decided(big.clone(), approve("600000", Role::Staff)),
        Err(ClaimError::AuthorityLimit(kes("500000")))
    );
    assert!(decided(big, approve("600000", Role::Admin)).is_ok());
}

#[test]
fn rejecting_needs_a_reason_and_an_open_claim() {
    let reject = |r: &str| ClaimCommand::Reject { reason: r.into() };
    assert!(matches!(
        decided(assigned(), reject("")),
        Err(ClaimError::Validation(_))
    ));
    assert_eq!(
        decided(assigned(), reject("not covered: wear and tear")),
        Ok(vec![ClaimEvent::ClaimRejected {
            reason: "not covered: wear and tear".into()
        }])
    );
    assert!(matches!(
        decided(approved("1000"), reject("late")),
        Err(ClaimError::InvalidTransition { .. })
    ));
}

#[test]
fn a_payout_pays_the_unpaid_approved_amount_once_and_confirms_to_paid() {
    let mut events = approved("100000");
    let requested = decided(events.clone(), payout()).unwrap();
    assert!(
        matches!(&requested[0], ClaimEvent::PayoutRequested { amount, idempotency_key, .. }
        if *amount == kes("100000") && idempotency_key == &format!("payout-{PAYOUT}"))
    );
    events.extend(requested);
    assert_eq!(decided(events.clone(), payout()), Ok(vec![]));
    let other = ClaimCommand::RequestPayout {
        payout_id: PayoutId(uuid::Uuid::from_u128(99)),
        provider: "sandbox".into(),
        claimant_contact: None,
        requested_contact: None,
    };
    assert!(matches!(
        decided(events.clone(), other),
        Err(ClaimError::InvalidTransition { .. })
    ));
    let confirm = ClaimCommand::RecordPayoutSucceeded {
        payout_id: PAYOUT,
        provider_reference: Some("sbx_1".into()),
    };
    let confirmed = decided(events.clone(), confirm.clone()).unwrap();
    assert_eq!(
        confirmed[1],
        ClaimEvent::ClaimPaid {
            amount_paid: kes("100000")
        }
    );
    events.extend(confirmed);
    assert_eq!(decided(events, confirm), Ok(vec![]));
}

#[test]
fn a_failed_payout_leaves_the_claim_approved_for_another_try() {
    let mut events = approved("100000");
    events.extend(decided(events.clone(), payout()).unwrap());
    events.extend(
        decided(
            events.clone(),
            ClaimCommand::RecordPayoutFailed {
                payout_id: PAYOUT,
                reason: "invalid number".into(),
            },
        )
        .unwrap(),
    );
    let mut claim = Claim::default();
    for e in &events {
        claim.apply(e.clone());
    }
    assert_eq!(claim.status, ClaimStatus::Approved);
    assert_eq!(claim.unpaid(), Some(kes("100000")));
}

#[test]
fn a_reopened_paid_claim_approved_again_for_what_was_paid_is_paid_again() {
    let mut events = approved("100000");
    events.extend(decided(events.clone(), payout()).unwrap());
    events.extend(
        decided(
            events.clone(),
            ClaimCommand::RecordPayoutSucceeded {
                payout_id: PAYOUT,
                provider_reference: None,
            },
        )
        .unwrap(),
    );
    events.extend(
        decided(
            events.clone(),
            ClaimCommand::Reopen {
                reason: "a second look".into(),
            },
        )
        .unwrap(),
    );
    let again = decided(events.clone(), approve("100000", Role::Staff)).unwrap();
    assert!(matches!(
        again.last(),
        Some(ClaimEvent::ClaimPaid { amount_paid }) if *amount_paid == kes("100000")
    ));
    events.extend(again);
    let mut claim = Claim::default();
    for e in &events {
        claim.apply(e.clone());
    }
    assert_eq!(claim.status, ClaimStatus::Paid);
    // More approved: it waits for the rest to be paid.
    let more = decided(
        events[..events.len() - 2].to_vec(),
        approve("120000", Role::Staff),
    )
    .unwrap();
    assert!(!more
        .iter()
        .any(|e| matches!(e, ClaimEvent::ClaimPaid { .. })));
}

#[test]
fn a_reopened_claim_can_be_approved_again_for_more_never_less() {
    let mut events = approved("100000");
    events.push(ClaimEvent::ClaimClosed { reason: None });
    assert!(matches!(
        decided(
            events.clone(),
            ClaimCommand::Reopen {
                reason: String::new()
            }
        ),
        Err(ClaimError::Validation(_))
    ));
    events.extend(
        decided(
            events.clone(),
            ClaimCommand::Reopen {
                reason: "new invoice from the garage".into(),
            },
        )
        .unwrap(),
    );
    assert!(matches!(
        decided(events.clone(), approve("90000", Role::Staff)),
        Err(ClaimError::Validation(_))
    ));
    let again = decided(events, approve("115000", Role::Staff)).unwrap();
    assert!(
        matches!(&again[0], ClaimEvent::ClaimApproved { previous_amount, .. } if *previous_amount == kes("100000"))
    );
}

#[test]
fn closing_waits_for_a_pending_payout_and_reopening_needs_a_closed_claim() {
    let mut events = approved("100000");
    events.extend(decided(events.clone(), payout()).unwrap());
    assert!(matches!(
        decided(events, ClaimCommand::Close { reason: None }),
        Err(ClaimError::InvalidTransition { .. })
    ));
    assert!(matches!(
        decided(assigned(), ClaimCommand::Reopen { reason: "x".into() }),
        Err(ClaimError::InvalidTransition { .. })
    ));
    assert_eq!(
        decided(vec![], ClaimCommand::Close { reason: None }),
        Err(ClaimError::NotFound)
    );
}

const OTHER_STAFF: UserId = UserId(uuid::Uuid::from_u128(7));

fn approve_with(amount: &str, by: UserId, dual_control: &str) -> ClaimCommand {
    ClaimCommand::Approve {
        approved_amount: kes(amount),
        approved_by: Some(by),
        approver_role: Role::Staff,
        authority_limit: kes("500000"),
        dual_control_limit: kes(dual_control),
    }
}

#[test]
fn whoever_filed_or_last_amended_a_claim_cannot_approve_it() {
    let mut by_staff = filing("2026-06-01");
    by_staff.filed_by = STAFF;
    let filed_by_staff = decided(vec![], ClaimCommand::File(Box::new(by_staff))).unwrap();
    assert!(matches!(
        decided(
            filed_by_staff.clone(),
            approve_with("100000", STAFF, "250000")
        ),
        Err(ClaimError::SeparationOfDuties(_))
    ));
    assert!(decided(
        filed_by_staff,
        approve_with("100000", OTHER_STAFF, "250000")
    )
    .is_ok());

    let mut amended = filed();
    amended.extend(
        decided(
            amended.clone(),
            ClaimCommand::Amend {
                description: None,
                claimed_amount: Some(kes("110000")),
                amended_by: Some(OTHER_STAFF),
            },
        )
        .unwrap(),
    );
    assert!(matches!(
        decided(
            amended.clone(),
            approve_with("100000", OTHER_STAFF, "250000")
        ),
        Err(ClaimError::SeparationOfDuties(_))
    ));
    assert!(decided(amended, approve_with("100000", STAFF, "250000")).is_ok());
}

#[test]
fn an_approval_above_the_dual_control_limit_waits_for_a_second_person() {
    let mut large = filing("2026-06-01");
    large.claimed_amount = kes("400000");
    let mut events = decided(vec![], ClaimCommand::File(Box::new(large))).unwrap();
    let proposed = decided(events.clone(), approve_with("300000", STAFF, "250000")).unwrap();
    assert_eq!(
        proposed,
        vec![ClaimEvent::ApprovalProposed {
            approved_amount: kes("300000"),
            proposed_by: STAFF
        }]
    );
    events.extend(proposed);
    assert_eq!(
        decided(events.clone(), approve_with("300000", STAFF, "250000")),
        Ok(vec![]),
        "proposing again changes nothing"
    );
    assert!(matches!(
        decided(
            events.clone(),
            ClaimCommand::ConfirmApproval {
                confirmed_by: STAFF
            }
        ),
        Err(ClaimError::SeparationOfDuties(_))
    ));
    assert!(matches!(
        decided(
            events.clone(),
            ClaimCommand::ConfirmApproval {
                confirmed_by: CUSTOMER
            }
        ),
        Err(ClaimError::SeparationOfDuties(_)),
    ));
    assert!(
        matches!(
            decided(events.clone(), payout()),
            Err(ClaimError::InvalidTransition { .. })
        ),
        "nothing is payable before the confirmation"
    );
    let confirmed = decided(
        events.clone(),
        ClaimCommand::ConfirmApproval {
            confirmed_by: OTHER_STAFF,
        },
    )
    .unwrap();
    assert_eq!(
        confirmed,
        vec![
            ClaimEvent::ApprovalConfirmed {
                confirmed_by: OTHER_STAFF
            },
            ClaimEvent::ClaimApproved {
                approved_amount: kes("300000"),
                previous_amount: kes("0"),
                approved_by: Some(STAFF),
            },
        ]
    );
    assert!(matches!(
        decided(
            filed(),
            ClaimCommand::ConfirmApproval {
                confirmed_by: OTHER_STAFF
            }
        ),
        Err(ClaimError::InvalidTransition { .. })
    ));
}

fn pay_to(claimant: Option<&str>, requested: Option<&str>) -> ClaimCommand {
    ClaimCommand::RequestPayout {
        payout_id: PAYOUT,
        provider: "mpesa".into(),
        claimant_contact: claimant.map(str::to_string),
        requested_contact: requested.map(str::to_string),
    }
}

fn paid_to(events: &[ClaimEvent]) -> Option<String> {
    match &events[0] {
        ClaimEvent::PayoutRequested { payee_contact, .. } => payee_contact.clone(),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_payout_goes_to_the_claimant_unless_a_second_person_confirmed_another_payee() {
    let mut events = approved("100000");
    let claimant = Some("+254711000001");
    let own = decided(events.clone(), pay_to(claimant, None)).unwrap();
    assert_eq!(paid_to(&own).as_deref(), claimant);
    let named_own = decided(events.clone(), pay_to(claimant, claimant)).unwrap();
    assert_eq!(paid_to(&named_own).as_deref(), claimant);
    assert!(matches!(
        decided(events.clone(), pay_to(claimant, Some("+254700000002"))),
        Err(ClaimError::AwaitsConfirmation(_))
    ));

    let propose = ClaimCommand::ProposePayee {
        contact: "+254722000003".into(),
        proposed_by: STAFF,
        reason: "The garage is paid directly".into(),
    };
    events.extend(decided(events.clone(), propose).unwrap());
    assert!(
        matches!(
            decided(events.clone(), pay_to(claimant, None)),
            Err(ClaimError::AwaitsConfirmation(_))
        ),
        "not even the claimant while a payee waits"
    );
    assert!(matches!(
        decided(
            events.clone(),
            ClaimCommand::ConfirmPayee {
                confirmed_by: STAFF
            }
        ),
        Err(ClaimError::SeparationOfDuties(_))
    ));
    events.extend(
        decided(
            events.clone(),
            ClaimCommand::ConfirmPayee {
                confirmed_by: OTHER_STAFF,
            },
        )
        .unwrap(),
    );
    let to_payee = decided(events.clone(), pay_to(claimant, None)).unwrap();
    assert_eq!(paid_to(&to_payee).as_deref(), Some("+254722000003"));
    assert!(matches!(
        decided(events, pay_to(claimant, Some("+254700000002"))),
        Err(ClaimError::AwaitsConfirmation(_))
    ));
}

#[test]
fn cover_is_decided_by_the_dates_it_ran_not_by_todays_status() {
    // Cancelled with cover to 2026-06-30: a loss on 2026-06-20 is claimable
    // (the policy shows cancelled at once), one on 2026-07-01 is not.
    let mut cancelled = policy(true);
    cancelled.apply(PolicyEvent::PolicyCancelled {
        reason: "sold".into(),
        effective_date: d("2026-06-30"),
        refund: kes("0"),
        refunds: vec![],
        cancelled_by: None,
        credit_note: None,
        earned_unpaid: None,
    });
    let mut within = filing("2026-06-05");
    within.policy = cancelled.clone();
    assert!(decided(vec![], ClaimCommand::File(Box::new(within))).is_ok());
    let mut after = filing("2026-07-01");
    after.policy = cancelled.clone();
    after.today = d("2026-07-02");
    assert!(matches!(
        decided(vec![], ClaimCommand::File(Box::new(after))),
        Err(ClaimError::IncidentOutsideCover { .. })
    ));
    // Reported within 90 days of the end of cover; not after.
    let mut late = filing("2026-06-05");
    late.policy = cancelled;
    late.today = d("2026-09-28");
    assert!(decided(vec![], ClaimCommand::File(Box::new(late.clone()))).is_ok());
    late.today = d("2026-09-29");
    assert_eq!(
        decided(vec![], ClaimCommand::File(Box::new(late))),
        Err(ClaimError::ReportedTooLate {
            ended: d("2026-06-30"),
            until: d("2026-09-28")
        })
    );
}

#[test]
fn a_policy_put_back_in_force_late_covers_nothing_in_the_gap() {
    let mut lapsed_renewal = policy(true);
    lapsed_renewal.apply(PolicyEvent::PolicyExpired {
        term_number: 1,
        end_date: d("2026-12-31"),
    });
    assert!(lapsed_renewal.cover_on(d("2026-12-31")).is_some());
    assert!(lapsed_renewal.cover_on(d("2027-01-05")).is_none());
}
