//! Property tests over generated command sequences: one policy, its
//! invoices, and the two process managers between them (`billing_process`:
//! policy events → invoice commands; `policy_process`: invoice events →
//! policy commands) as the workers run them, each delivering its events
//! whenever the sequence says — so payments settle late, cancellations race
//! payments, credit meets pending charges.
//!
//! After every sequence (queues drained, every pending payment settled):
//! - every payment received is on the policy's ledger, and no payment is
//!   refunded more than was received;
//! - refunds + retained = paid: after a cancellation what the insurer keeps
//!   is what was paid by then less the refund decided, whatever settled
//!   later; a policy never in force keeps nothing;
//! - nothing is payable after a cancellation or lapse;
//! - the statement (built from the events as the reporting projection
//!   builds it) closes at the open balances less the policy's credit;
//! - the premium report's written − earned = unearned at every month's end.

use std::collections::{BTreeMap, VecDeque};

use chrono::NaiveDate;
use cqrs_es::test::TestFramework;
use cqrs_es::Aggregate;
use proptest::prelude::*;
use rust_decimal::Decimal;

use super::*;
use crate::currency::Currency;
use crate::fixtures::{kes, motor_product};
use crate::ids::{InvoiceId, PaymentId, PolicyId, ProductId, UserId};
use crate::invoice::{
    Invoice, InvoiceCommand, InvoiceDetails, InvoiceEvent, InvoiceKind, InvoiceStatus,
    SettlementStatus,
};
use crate::reports::{months, premiums, GroupBy};

const POLICY: PolicyId = PolicyId(uuid::Uuid::from_u128(1));
const CUSTOMER: UserId = UserId(uuid::Uuid::from_u128(2));

fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn start() -> NaiveDate {
    d("2026-01-01")
}

fn decide<A>(history: &[A::Event], command: A::Command) -> Result<Vec<A::Event>, A::Error>
where
    A: Aggregate<Services = ()>,
{
    TestFramework::<A>::with(())
        .given(history.to_vec())
        .when(command)
        .inspect_result()
}

/// How the provider answers a payment.
#[derive(Debug, Clone, Copy)]
enum Outcome {
    /// Received what was asked.
    Exact,
    /// Received more: asked × (1 + n/100).
    Over(u8),
    /// Refused.
    Fail,
}

#[derive(Debug, Clone)]
enum Step {
    /// Ask a payment of `share`% of what the invoice leaves open.
    Pay {
        invoice: usize,
        share: u8,
    },
    /// The provider answers a pending payment.
    Settle {
        payment: usize,
        outcome: Outcome,
    },
    /// Sum insured to 200,000 × `level`, from `day` of the term.
    Endorse {
        level: u8,
        day: u16,
    },
    /// Cover ends `day` days after the start (negative: before it).
    Cancel {
        day: i16,
    },
    Lapse,
    Renew,
    /// `billing_process` handles its next event.
    DeliverBilling,
    /// `policy_process` handles its next event.
    DeliverPolicy,
}

fn step() -> impl Strategy<Value = Step> {
    let outcome = prop_oneof![
        4 => Just(Outcome::Exact),
        1 => (1u8..=100).prop_map(Outcome::Over),
        1 => Just(Outcome::Fail),
    ];
    prop_oneof![
        4 => (0usize..6, 1u8..=100).prop_map(|(invoice, share)| Step::Pay { invoice, share: share.min(100) }),
        4 => (0usize..8, outcome).prop_map(|(payment, outcome)| Step::Settle { payment, outcome }),
        2 => (1u8..=8, 0u16..365).prop_map(|(level, day)| Step::Endorse { level, day }),
        1 => (-30i16..400).prop_map(|day| Step::Cancel { day }),
        1 => Just(Step::Lapse),
        1 => Just(Step::Renew),
        4 => Just(Step::DeliverBilling),
        4 => Just(Step::DeliverPolicy),
    ]
}

/// A restored credit's effect on the statement, as the reporting
/// projection records it.
fn restored_effect(amount: Decimal, from_reduction: bool, after_end: bool) -> Decimal {
    match (from_reduction, after_end) {
        (true, false) => -amount,
        (false, true) => amount,
        _ => Decimal::ZERO,
    }
}

/// What a cancellation or lapse decided, to hold the rest to it.
struct Ended {
    paid: Money,
    refund: Money,
}

#[derive(Default)]
struct Sim {
    policy: Policy,
    policy_events: Vec<PolicyEvent>,
    invoices: BTreeMap<InvoiceId, (Invoice, Vec<InvoiceEvent>)>,
    order: Vec<InvoiceId>,
    payments: Vec<(InvoiceId, PaymentId)>,
    to_billing: VecDeque<(usize, PolicyEvent)>,
    to_policy: VecDeque<(InvoiceId, InvoiceEvent)>,
    /// What the statement owes, movement by movement.
    statement: Decimal,
    /// Per invoice: issued less reductions, premium and credit applied.
    owed: BTreeMap<InvoiceId, Decimal>,
    ended: Option<Ended>,
    next: u128,
}

fn zero() -> Money {
    Money::zero(Currency::KES)
}

impl Sim {
    fn new() -> Self {
        let mut sim = Sim::default();
        let application = NewApplication {
            policy_id: POLICY,
            product_id: ProductId(uuid::Uuid::from_u128(9)),
            product: motor_product("MOTOR", "0.04"),
            customer_id: CUSTOMER,
            submitted_by: CUSTOMER,
            sum_insured: kes("1000000"),
            start_date: start(),
            insured: serde_json::json!({"registration": "KDA 123A"}),
            today: start(),
            max_backdate_days: 7,
        };
        assert!(sim.policy_command(PolicyCommand::SubmitApplication(application)));
        assert!(sim.policy_command(PolicyCommand::ApproveApplication {
            policy_number: "POL-2026-000001".into(),
            due_date: d("2026-01-15"),
            approved_by: None,
        }));
        sim
    }

    fn id(&mut self) -> uuid::Uuid {
        self.next += 1;
        uuid::Uuid::from_u128(1000 + self.next)
    }

    fn ledger(&self) -> &ledger::PremiumLedger {
        self.policy.ledger.as_ref().unwrap()
    }

    fn policy_command(&mut self, command: PolicyCommand) -> bool {
        let Ok(events) = decide::<Policy>(&self.policy_events, command) else {
            return false;
        };
        for event in events {
            self.policy_statement(&event);
            self.policy.apply(event.clone());
            self.policy_events.push(event.clone());
            self.to_billing.push_back((self.policy_events.len(), event));
        }
        true
    }

    fn invoice_command(
        &mut self,
        id: InvoiceId,
        command: InvoiceCommand,
    ) -> Result<(), crate::invoice::InvoiceError> {
        let history = self
            .invoices
            .get(&id)
            .map(|(_, h)| h.clone())
            .unwrap_or_default();
        let events = decide::<Invoice>(&history, command)?;
        for event in events {
            self.invoice_statement(id, &event);
            let (invoice, history) = self.invoices.entry(id).or_default();
            invoice.apply(event.clone());
            history.push(event.clone());
            self.to_policy.push_back((id, event));
        }
        Ok(())
    }

    /// The statement's movements of a policy event.
    fn policy_statement(&mut self, event: &PolicyEvent) {
        let note = |m: &Option<Money>| m.map_or(Decimal::ZERO, |m| m.amount());
        match event {
            PolicyEvent::PolicyCancelled {
                credit_note,
                earned_unpaid,
                ..
            } => self.statement += note(earned_unpaid) - note(credit_note),
            PolicyEvent::PolicyLapsed { credit_note, .. }
            | PolicyEvent::PaymentReturned { credit_note, .. } => {
                self.statement -= note(credit_note);
            }
            PolicyEvent::PolicyEndorsed {
                adjustment,
                offsets,
                ..
            } if adjustment.is_negative() => {
                let offset: Decimal = offsets.iter().map(|o| o.amount.amount()).sum();
                self.statement -= (-adjustment.amount() - offset).max(Decimal::ZERO);
            }
            PolicyEvent::CreditRestored {
                amount,
                from_reduction,
                after_end,
                ..
            } => self.statement += restored_effect(amount.amount(), *from_reduction, *after_end),
            _ => {}
        }
    }

    /// The statement's movements of an invoice event.
    fn invoice_statement(&mut self, id: InvoiceId, event: &InvoiceEvent) {
        let owed = self.owed.entry(id).or_default();
        match event {
            InvoiceEvent::InvoiceCreated(details) => {
                *owed = details.amount.amount();
                self.statement += details.amount.amount();
            }
            InvoiceEvent::InvoiceReduced { amount, .. } => {
                *owed -= amount.amount();
                self.statement -= amount.amount();
            }
            InvoiceEvent::CreditApplied { amount, .. } => *owed -= amount.amount(),
            InvoiceEvent::PaymentSucceeded {
                amount, applied, ..
            } => {
                *owed -= applied.amount();
                self.statement -= amount.amount();
            }
            InvoiceEvent::InvoiceVoided { .. } => {
                self.statement -= (*owed).max(Decimal::ZERO);
                *owed = Decimal::ZERO;
            }
            InvoiceEvent::RefundIssued { refund_id, .. } => {
                let invoice = &self.invoices[&id].0;
                let refund = invoice.refunds.iter().find(|r| r.refund_id == *refund_id);
                self.statement += refund.map_or(Decimal::ZERO, |r| r.amount.amount());
            }
            _ => {}
        }
    }

    fn refund(&mut self, refunds: &[RefundAllocation]) {
        for refund in refunds {
            let asked = self.invoice_command(
                refund.invoice_id,
                InvoiceCommand::RequestRefund {
                    refund_id: refund.refund_id,
                    payment_id: refund.payment_id,
                    amount: refund.amount,
                    reason: "refund".into(),
                },
            );
            assert_eq!(
                asked,
                Ok(()),
                "the invoice refuses the policy's refund {refund:?}"
            );
            let issued = self.invoice_command(
                refund.invoice_id,
                InvoiceCommand::RecordRefundIssued {
                    refund_id: refund.refund_id,
                    provider_reference: None,
                },
            );
            assert_eq!(issued, Ok(()));
        }
    }

    fn create_invoice(&mut self, id: InvoiceId, kind: InvoiceKind, term: u32, amount: Money) {
        let details = InvoiceDetails {
            invoice_id: id,
            invoice_number: format!("INV-{}", self.order.len() + 1),
            policy_id: POLICY,
            policy_number: "POL-2026-000001".into(),
            customer_id: CUSTOMER,
            kind,
            term_number: term,
            amount,
            issued_on: start(),
            due_date: d("2026-01-15"),
        };
        assert_eq!(
            self.invoice_command(id, InvoiceCommand::Create(details)),
            Ok(())
        );
        self.order.push(id);
    }

    /// `billing_process` handles one policy event.
    fn deliver_billing(&mut self) -> bool {
        let Some((position, event)) = self.to_billing.pop_front() else {
            return false;
        };
        let key = format!("event:{position}");
        match event {
            PolicyEvent::ApplicationApproved { term, .. } => {
                self.create_invoice(
                    term.invoice_id,
                    InvoiceKind::Premium,
                    term.number,
                    term.premium,
                );
            }
            PolicyEvent::PolicyRenewed { term } => {
                self.create_invoice(
                    term.invoice_id,
                    InvoiceKind::Renewal,
                    term.number,
                    term.premium,
                );
            }
            PolicyEvent::PolicyEndorsed {
                invoice_id: Some(id),
                adjustment,
                term_number,
                ..
            } => self.create_invoice(id, InvoiceKind::Endorsement, term_number, adjustment),
            PolicyEvent::PolicyEndorsed {
                refunds, offsets, ..
            } => {
                for offset in offsets {
                    let reduced = self.invoice_command(
                        offset.invoice_id,
                        InvoiceCommand::Reduce {
                            key: key.clone(),
                            amount: offset.amount,
                            reason: "lower".into(),
                        },
                    );
                    assert_eq!(reduced, Ok(()));
                }
                self.refund(&refunds);
            }
            PolicyEvent::PolicyCancelled { refunds, .. }
            | PolicyEvent::PolicyLapsed { refunds, .. } => {
                let ids: Vec<InvoiceId> = self.policy.invoices.iter().map(|(id, _)| *id).collect();
                for id in ids {
                    let closed = self.invoice_command(
                        id,
                        InvoiceCommand::Close {
                            reason: "ended".into(),
                        },
                    );
                    assert_eq!(closed, Ok(()));
                }
                self.refund(&refunds);
            }
            PolicyEvent::PaymentReturned { refunds, .. } => self.refund(&refunds),
            PolicyEvent::PolicyCreditApplied {
                invoice_id, amount, ..
            } => {
                let applied =
                    self.invoice_command(invoice_id, InvoiceCommand::ApplyCredit { key, amount });
                assert_eq!(applied, Ok(()));
            }
            _ => {}
        }
        true
    }

    /// `policy_process` handles one invoice event.
    fn deliver_policy(&mut self) -> bool {
        let Some((invoice_id, event)) = self.to_policy.pop_front() else {
            return false;
        };
        match event {
            InvoiceEvent::PaymentSucceeded {
                payment_id,
                amount,
                overpayment,
                ..
            } => {
                let recorded = self.policy_command(PolicyCommand::RecordPremiumPayment {
                    invoice_id,
                    payment_id,
                    amount,
                    credit: Some(overpayment),
                    provider: "sandbox".into(),
                });
                assert!(recorded, "the policy refuses a payment received");
            }
            InvoiceEvent::CreditDeclined { key, amount } => {
                self.restore(invoice_id, key, amount, false)
            }
            InvoiceEvent::ReductionDeclined { key, amount } => {
                self.restore(invoice_id, key, amount, true)
            }
            InvoiceEvent::InvoicePaid { .. } => {
                let activated = self.policy_command(PolicyCommand::Activate {
                    invoice_id,
                    today: None,
                });
                assert!(activated, "the policy refuses a paid invoice");
            }
            _ => {}
        }
        true
    }

    /// `policy_process` gives the policy back what an invoice declined.
    fn restore(&mut self, invoice_id: InvoiceId, key: String, amount: Money, from_reduction: bool) {
        let restored = self.policy_command(PolicyCommand::RestoreCredit {
            invoice_id,
            key,
            amount,
            from_reduction,
        });
        assert!(restored, "the policy refuses its credit back");
    }

    fn pending(&self) -> Vec<(InvoiceId, PaymentId)> {
        self.payments
            .iter()
            .filter(|(invoice, payment)| {
                self.invoices[invoice]
                    .0
                    .payments
                    .iter()
                    .any(|p| p.payment_id == *payment && p.status == SettlementStatus::Pending)
            })
            .copied()
            .collect()
    }

    fn settle(&mut self, invoice: InvoiceId, payment: PaymentId, outcome: Outcome) {
        let asked = self.invoices[&invoice]
            .0
            .payments
            .iter()
            .find(|p| p.payment_id == payment)
            .unwrap()
            .requested;
        let command = match outcome {
            Outcome::Fail => InvoiceCommand::RecordPaymentFailed {
                payment_id: payment,
                reason: "declined".into(),
                provider_reference: None,
            },
            Outcome::Exact | Outcome::Over(_) => {
                let factor = match outcome {
                    Outcome::Over(n) => Decimal::ONE + Decimal::new(i64::from(n), 2),
                    _ => Decimal::ONE,
                };
                InvoiceCommand::RecordPaymentSucceeded {
                    payment_id: payment,
                    amount: asked.checked_mul_rounded(factor).unwrap(),
                    provider_reference: None,
                }
            }
        };
        assert_eq!(self.invoice_command(invoice, command), Ok(()));
    }

    fn run(&mut self, step: &Step) {
        match *step {
            Step::Pay { invoice, share } => {
                if self.order.is_empty() {
                    return;
                }
                let id = self.order[invoice % self.order.len()];
                let state = &self.invoices[&id].0;
                let (Some(balance), Some(pending)) = (state.balance(), state.pending()) else {
                    return;
                };
                let open = balance.checked_sub(&pending).unwrap_or(balance);
                let amount = (share < 100)
                    .then(|| {
                        open.checked_mul_rounded(Decimal::new(i64::from(share), 2))
                            .ok()
                    })
                    .flatten();
                let payment = PaymentId(self.id());
                let asked = self.invoice_command(
                    id,
                    InvoiceCommand::RequestPayment {
                        payment_id: payment,
                        provider: "sandbox".into(),
                        amount,
                        payer_contact: None,
                        requested_by: None,
                    },
                );
                if asked.is_ok() {
                    self.payments.push((id, payment));
                }
            }
            Step::Settle { payment, outcome } => {
                let pending = self.pending();
                if let Some((invoice, payment)) = pending.get(payment % pending.len().max(1)) {
                    self.settle(*invoice, *payment, outcome);
                }
            }
            Step::Endorse { level, day } => {
                let _ = self.policy_command(PolicyCommand::Endorse {
                    sum_insured: kes(&(200_000 * u32::from(level)).to_string()),
                    effective_date: start() + chrono::Days::new(u64::from(day)),
                    due_date: d("2026-01-15"),
                });
            }
            Step::Cancel { day } => {
                let paid = self.ledger().paid_net(|_| true);
                let on = start() + chrono::TimeDelta::days(i64::from(day));
                let cancelled = self.policy_command(PolicyCommand::Cancel {
                    reason: "asked".into(),
                    effective_date: on,
                    cancelled_by: None,
                });
                if cancelled {
                    let refund = self.policy.cancellation.as_ref().unwrap().refund;
                    self.ended = Some(Ended { paid, refund });
                }
            }
            Step::Lapse => {
                let paid = self.ledger().paid_net(|_| true);
                let lapsed = self.policy_command(PolicyCommand::Lapse {
                    today: d("2026-03-01"),
                    grace_days: 30,
                });
                if lapsed {
                    self.ended = Some(Ended { paid, refund: paid });
                }
            }
            Step::Renew => {
                let _ = self.policy_command(PolicyCommand::Renew {
                    product: motor_product("MOTOR", "0.04"),
                    due_date: d("2026-12-15"),
                });
            }
            Step::DeliverBilling => {
                self.deliver_billing();
            }
            Step::DeliverPolicy => {
                self.deliver_policy();
            }
        }
    }

    /// Every queued event handled and every pending payment answered (paid
    /// as asked).
    fn drain(&mut self) {
        loop {
            while self.deliver_billing() || self.deliver_policy() {}
            let pending = self.pending();
            if pending.is_empty() {
                break;
            }
            for (invoice, payment) in pending {
                self.settle(invoice, payment, Outcome::Exact);
            }
        }
    }

    fn received_and_refunded(&self) -> (Decimal, Decimal) {
        let mut received = Decimal::ZERO;
        let mut refunded = Decimal::ZERO;
        for (invoice, _) in self.invoices.values() {
            for payment in &invoice.payments {
                received += payment.received.amount();
                assert!(
                    payment.refunded.amount() <= payment.received.amount(),
                    "payment refunded beyond what was received: {payment:?}"
                );
            }
            refunded += invoice.refunded().unwrap().amount();
        }
        (received, refunded)
    }

    fn check(&self) {
        let (received, refunded) = self.received_and_refunded();
        let ledger = self.ledger();
        let recorded: Decimal = ledger.payments.iter().map(|p| p.amount.amount()).sum();
        assert_eq!(
            received, recorded,
            "every payment received is on the ledger"
        );
        let retained = received - refunded;
        assert!(retained >= Decimal::ZERO);

        let open: Decimal = self
            .invoices
            .values()
            .filter(|(i, _)| matches!(i.status, InvoiceStatus::Open | InvoiceStatus::Overdue))
            .map(|(i, _)| i.balance().unwrap().amount())
            .sum();
        assert_eq!(
            self.statement,
            open - ledger.credit().amount(),
            "the statement closes at open balances less credit"
        );

        if let Some(ended) = &self.ended {
            assert_eq!(open, Decimal::ZERO, "nothing payable after cover ended");
            assert_eq!(
                retained,
                ended.paid.amount() - ended.refund.amount(),
                "refunds + retained = paid, and whatever settled later went back"
            );
            if self.policy.in_force.is_none() {
                assert_eq!(retained, Decimal::ZERO, "never in force keeps nothing");
            }
        }

        let policies = [self.policy.clone()];
        let to = d("2027-12-31");
        let rows = premiums(&policies, start(), to, GroupBy::Month);
        let (mut written, mut earned) = (Decimal::ZERO, Decimal::ZERO);
        for (label, _, _) in months(start(), to) {
            if let Some(row) = rows.iter().find(|r| r.group == label) {
                written += row.written.amount();
                earned += row.earned.amount();
                assert_eq!(written - earned, row.unearned.amount(), "{label}: {row:?}");
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn every_shilling_is_accounted_for_under_any_sequence(
        in_force in prop::bool::weighted(0.8),
        steps in prop::collection::vec(step(), 1..60),
    ) {
        let mut sim = Sim::new();
        if in_force {
            sim.drain();
            sim.run(&Step::Pay { invoice: 0, share: 100 });
            sim.drain();
        }
        for step in &steps {
            sim.run(step);
        }
        sim.drain();
        sim.check();
    }
}

#[test]
fn a_payment_applied_before_its_invoice_closes_is_returned_and_the_statement_closes() {
    // Paid, cancelled before the policy heard of the payment: the policy
    // returns it when it does.
    let mut sim = Sim::new();
    sim.drain();
    sim.run(&Step::Pay {
        invoice: 0,
        share: 100,
    });
    sim.run(&Step::Settle {
        payment: 0,
        outcome: Outcome::Exact,
    });
    sim.run(&Step::Cancel { day: 10 });
    sim.drain();
    sim.check();
    assert_eq!(sim.ended.as_ref().unwrap().refund, zero());
    let (received, refunded) = sim.received_and_refunded();
    assert_eq!(
        (received, refunded),
        (Decimal::new(40000, 0), Decimal::new(40000, 0))
    );
}

#[test]
fn a_reduction_overtaken_by_a_payment_leaves_that_payment_as_credit() {
    // The endorsement invoice is partly paid before the policy hears of it,
    // then a lower endorsement takes off what the policy thinks unpaid: the
    // invoice declines the part paid, which is credit again, and a later
    // refund settles it.
    let mut sim = Sim::new();
    sim.drain();
    sim.run(&Step::Pay {
        invoice: 0,
        share: 100,
    });
    sim.drain();
    for step in [
        Step::Endorse { level: 6, day: 0 },
        Step::DeliverBilling,
        Step::Pay {
            invoice: 1,
            share: 1,
        },
        Step::Settle {
            payment: 0,
            outcome: Outcome::Exact,
        },
        Step::Endorse { level: 1, day: 13 },
        Step::DeliverPolicy,
        Step::DeliverPolicy,
        Step::Endorse { level: 3, day: 86 },
        Step::DeliverPolicy,
        Step::Endorse { level: 1, day: 86 },
    ] {
        sim.run(&step);
    }
    sim.drain();
    sim.check();
    assert!(sim.policy_events.iter().any(|e| matches!(
        e,
        PolicyEvent::CreditRestored {
            from_reduction: true,
            ..
        }
    )));
}
