//! Property tests of the cover rules over generated command sequences on
//! one policy: reservations and releases of several claims at versions in
//! any order, endorsements up and down, a renewal coming into force, and
//! cancellations dated anywhere. After every command, for every term:
//! what its claims hold is within its limit; a claim's hold changed only by
//! a reservation at a newer version of the claim or a release of the
//! reservation made at that version; and a reservation was accepted only
//! for an incident the policy covered that day.

use chrono::NaiveDate;
use cqrs_es::test::TestFramework;
use cqrs_es::Aggregate;
use proptest::prelude::*;
use rust_decimal::Decimal;

use super::*;
use crate::fixtures::{kes, motor_product};
use crate::ids::{ClaimId, InvoiceId, PaymentId, PolicyId, ProductId, UserId};

const POLICY: PolicyId = PolicyId(uuid::Uuid::from_u128(1));

fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn claim(n: u8) -> ClaimId {
    ClaimId(uuid::Uuid::from_u128(100 + u128::from(n)))
}

#[derive(Debug, Clone)]
enum Step {
    Reserve {
        claim: u8,
        thousands: u32,
        version: u8,
        day: u16,
    },
    Release {
        claim: u8,
        thousands: u32,
        version: u8,
    },
    Endorse {
        level: u8,
        day: u16,
    },
    Cancel {
        day: u16,
    },
    RenewIntoForce,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        6 => (0u8..4, 0u32..1_200, 1u8..6, 0u16..730)
            .prop_map(|(claim, thousands, version, day)| Step::Reserve { claim, thousands, version, day }),
        3 => (0u8..4, 0u32..1_200, 1u8..6)
            .prop_map(|(claim, thousands, version)| Step::Release { claim, thousands, version }),
        2 => (1u8..8, 0u16..365).prop_map(|(level, day)| Step::Endorse { level, day }),
        1 => (0u16..730).prop_map(|day| Step::Cancel { day }),
        1 => Just(Step::RenewIntoForce),
    ]
}

fn active() -> Vec<PolicyEvent> {
    let mut events = Vec::new();
    let run = |events: &mut Vec<PolicyEvent>, command| {
        let new = TestFramework::<Policy>::with(())
            .given(events.clone())
            .when(command)
            .inspect_result()
            .unwrap();
        events.extend(new);
    };
    run(
        &mut events,
        PolicyCommand::SubmitApplication(NewApplication {
            policy_id: POLICY,
            product_id: ProductId(uuid::Uuid::from_u128(9)),
            product: motor_product("MOTOR", "0.04"),
            customer_id: UserId(uuid::Uuid::from_u128(2)),
            submitted_by: UserId(uuid::Uuid::from_u128(2)),
            sum_insured: kes("1000000"),
            start_date: d("2026-01-01"),
            insured: serde_json::json!({}),
            today: d("2026-01-01"),
            max_backdate_days: 7,
        }),
    );
    run(
        &mut events,
        PolicyCommand::ApproveApplication {
            policy_number: "POL-2026-000001".into(),
            due_date: d("2026-01-15"),
            approved_by: None,
        },
    );
    events.push(PolicyEvent::PremiumPaymentRecorded {
        invoice_id: InvoiceId::derived(POLICY, "term:1"),
        payment_id: PaymentId(uuid::Uuid::from_u128(3)),
        amount: kes("40000"),
        provider: "sandbox".into(),
        credit: None,
    });
    events.push(PolicyEvent::PolicyActivated {
        term_number: 1,
        reinstated_on: None,
    });
    events
}

fn held(policy: &Policy, id: ClaimId) -> Money {
    policy
        .claims_approved
        .iter()
        .find(|(c, _)| *c == id)
        .map_or(kes("0"), |(_, m)| *m)
}

fn version(policy: &Policy, id: ClaimId) -> u64 {
    policy
        .claim_versions
        .iter()
        .find(|(c, _)| *c == id)
        .map_or(0, |(_, v)| *v)
}

fn check(policy: &Policy) {
    for term in &policy.terms {
        let Some(limit) = policy.limit_of_term(term.number) else {
            continue;
        };
        let used: Decimal = policy
            .claims_approved
            .iter()
            .filter(|(id, _)| policy.claim_term(*id) == Some(term.number))
            .map(|(_, m)| m.amount())
            .sum();
        assert!(
            used <= limit.amount(),
            "term {}: {used} held on {limit}",
            term.number
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn the_cover_cap_holds_per_term_under_any_sequence(steps in prop::collection::vec(step(), 1..50)) {
        let mut events = active();
        let mut policy = Policy::default();
        for e in &events {
            policy.apply(e.clone());
        }
        let start = d("2026-01-01");
        for step in &steps {
            let command = match *step {
                Step::Reserve { claim: n, thousands, version, day } => PolicyCommand::ReserveClaimCover {
                    claim_id: claim(n),
                    total: kes(&(u64::from(thousands) * 1000).to_string()),
                    claim_version: u64::from(version),
                    incident_date: start + chrono::Days::new(u64::from(day)),
                },
                Step::Release { claim: n, thousands, version } => PolicyCommand::ReleaseClaimCover {
                    claim_id: claim(n),
                    to: kes(&(u64::from(thousands) * 1000).to_string()),
                    claim_version: u64::from(version),
                },
                Step::Endorse { level, day } => PolicyCommand::Endorse {
                    sum_insured: kes(&(200_000 * u32::from(level)).to_string()),
                    effective_date: start + chrono::Days::new(u64::from(day)),
                    due_date: d("2026-01-15"),
                },
                Step::Cancel { day } => PolicyCommand::Cancel {
                    reason: "asked".into(),
                    effective_date: start + chrono::Days::new(u64::from(day)),
                    cancelled_by: None,
                },
                Step::RenewIntoForce => PolicyCommand::Renew {
                    product: motor_product("MOTOR", "0.04"),
                    due_date: d("2026-12-15"),
                },
            };
            let before = policy.clone();
            let Ok(new) = TestFramework::<Policy>::with(()).given(events.clone()).when(command.clone()).inspect_result() else {
                continue;
            };
            let mut new = new;
            if matches!(step, Step::RenewIntoForce) {
                if let Some(PolicyEvent::PolicyRenewed { term }) = new.first().cloned() {
                    new.push(PolicyEvent::RenewalPaid { term_number: term.number });
                    new.push(PolicyEvent::RenewalTermStarted { term_number: term.number });
                }
            }
            for e in &new {
                policy.apply(e.clone());
            }
            events.extend(new);
            check(&policy);
            match (step, &command) {
                (Step::Reserve { claim: n, .. }, PolicyCommand::ReserveClaimCover { claim_version, incident_date, .. }) => {
                    let id = claim(*n);
                    prop_assert!(*claim_version > version(&before, id), "a stale version was accepted");
                    prop_assert!(before.cover_on(*incident_date).is_some(), "reserved outside cover");
                    prop_assert_eq!(version(&policy, id), *claim_version);
                }
                (Step::Release { claim: n, .. }, PolicyCommand::ReleaseClaimCover { to, claim_version, .. }) => {
                    let id = claim(*n);
                    let changed = held(&policy, id) != held(&before, id);
                    if changed {
                        prop_assert_eq!(version(&before, id), *claim_version);
                        prop_assert_eq!(held(&policy, id), *to);
                        prop_assert!(to.amount() < held(&before, id).amount(), "a release raised the hold");
                    }
                }
                _ => {}
            }
        }
    }
}
