//! The premium report on policies built by their own commands; expected
//! figures worked out by hand (days ÷ 365, half-up to the cent).

use chrono::NaiveDate;
use cqrs_es::test::TestFramework;
use cqrs_es::Aggregate as _;
use serde_json::json;

use super::*;
use crate::ids::{InvoiceId, PaymentId, PolicyId, ProductId, UserId};
use crate::policy::{NewApplication, PolicyCommand};
use crate::product::Product;

fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

use crate::fixtures::kes;

fn product() -> Product {
    crate::fixtures::motor_product("MOTOR", "0.04")
}

/// Runs `command` on `policy`, applying what it decides.
fn run(policy: &mut Policy, events: &mut Vec<crate::policy::PolicyEvent>, command: PolicyCommand) {
    let decided = TestFramework::<Policy>::with(())
        .given(events.clone())
        .when(command)
        .inspect_result()
        .unwrap();
    for event in decided {
        policy.apply(event.clone());
        events.push(event);
    }
}

/// A policy for 1,000,000 at 4% (40,000 for 2026), paid and in force;
/// cancelled with its last day of cover `cancelled` if given.
fn policy(n: u128, cancelled: Option<&str>) -> Policy {
    let id = PolicyId(uuid::Uuid::from_u128(n));
    let (mut policy, mut events) = (Policy::default(), Vec::new());
    let customer = UserId(uuid::Uuid::from_u128(100 + n));
    run(
        &mut policy,
        &mut events,
        PolicyCommand::SubmitApplication(NewApplication {
            policy_id: id,
            product_id: ProductId(uuid::Uuid::from_u128(9)),
            product: product(),
            customer_id: customer,
            submitted_by: customer,
            sum_insured: kes("1000000"),
            start_date: d("2026-01-01"),
            insured: json!({"registration": "KDA 123A"}),
            today: d("2026-01-01"),
            max_backdate_days: 7,
        }),
    );
    run(
        &mut policy,
        &mut events,
        PolicyCommand::ApproveApplication {
            policy_number: format!("POL-2026-{n:06}"),
            due_date: d("2026-01-15"),
            approved_by: None,
        },
    );
    let invoice_id = InvoiceId::derived(id, "term:1");
    run(
        &mut policy,
        &mut events,
        PolicyCommand::RecordPremiumPayment {
            invoice_id,
            payment_id: PaymentId(uuid::Uuid::from_u128(200 + n)),
            amount: kes("40000"),
            credit: None,
            provider: "sandbox".into(),
        },
    );
    run(
        &mut policy,
        &mut events,
        PolicyCommand::Activate {
            invoice_id,
            today: None,
        },
    );
    if let Some(on) = cancelled {
        run(
            &mut policy,
            &mut events,
            PolicyCommand::Cancel {
                reason: "sold the car".into(),
                effective_date: d(on),
                cancelled_by: None,
            },
        );
    }
    policy
}

fn row<'a>(rows: &'a [PremiumRow], group: &str) -> &'a PremiumRow {
    rows.iter().find(|r| r.group == group).unwrap()
}

#[test]
fn a_year_of_premium_is_written_on_its_first_day_and_earned_by_the_day() {
    let rows = premiums(
        &[policy(1, None)],
        d("2026-01-01"),
        d("2026-12-31"),
        GroupBy::Month,
    );
    assert_eq!(rows.len(), 12);
    let january = row(&rows, "2026-01");
    assert_eq!(january.written, kes("40000"));
    assert_eq!(january.earned, kes("3397.26")); // 40,000 × 31 / 365
    assert_eq!(january.unearned, kes("36602.74"));
    assert_eq!(january.policies, 1);
    let february = row(&rows, "2026-02");
    assert_eq!(february.written, kes("0"));
    assert_eq!(february.earned, kes("3068.49")); // 6,465.75 by 28 Feb less January's
    let earned: Decimal = rows.iter().map(|r| r.earned.amount()).sum();
    assert_eq!(
        earned,
        "40000".parse::<Decimal>().unwrap(),
        "the months add up to the year"
    );
    assert_eq!(row(&rows, "2026-12").unearned, kes("0"));
}

#[test]
fn a_cancellation_writes_back_what_was_not_earned_and_stops_earning() {
    let policies = [policy(1, Some("2026-03-31")), policy(2, None)];
    let rows = premiums(&policies, d("2026-01-01"), d("2026-12-31"), GroupBy::Month);
    let march = row(&rows, "2026-03");
    // Earned by 31 Mar: 40,000 × 90 / 365 = 9,863.01; 30,136.99 written back.
    assert_eq!(march.written, kes("-30136.99"));
    assert_eq!(row(&rows, "2026-04").earned, kes("3287.67")); // only the other policy
    assert_eq!(row(&rows, "2026-04").policies, 1);
    let by_product = premiums(
        &policies,
        d("2026-01-01"),
        d("2026-12-31"),
        GroupBy::Product,
    );
    assert_eq!(by_product.len(), 1);
    let motor = &by_product[0];
    assert_eq!(motor.group, "MOTOR");
    assert_eq!(motor.written, kes("49863.01"));
    assert_eq!(motor.earned, kes("49863.01"));
    assert_eq!(motor.unearned, kes("0"));
    assert_eq!(motor.policies, 2);
    // Mid-year: written less earned is the reserve.
    let half = premiums(
        &policies,
        d("2026-01-01"),
        d("2026-06-30"),
        GroupBy::Product,
    );
    assert_eq!(
        half[0].written.amount() - half[0].earned.amount(),
        half[0].unearned.amount()
    );
}

#[test]
fn an_approved_but_unpaid_policy_writes_nothing() {
    let mut unpaid = policy(3, None);
    unpaid.in_force = None;
    assert!(premiums(
        &[unpaid],
        d("2026-01-01"),
        d("2026-12-31"),
        GroupBy::Product
    )
    .is_empty());
}

#[test]
fn months_are_clipped_to_the_range() {
    let months = months(d("2026-11-25"), d("2027-01-10"));
    assert_eq!(
        months,
        vec![
            ("2026-11".to_string(), d("2026-11-25"), d("2026-11-30")),
            ("2026-12".to_string(), d("2026-12-01"), d("2026-12-31")),
            ("2027-01".to_string(), d("2027-01-01"), d("2027-01-10")),
        ]
    );
}
