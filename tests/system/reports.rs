//! Reports over HTTP on a small book with figures worked out here, apart
//! from the code under test: premium written, earned by the day, and the
//! unearned reserve, by month and by product; CSV says what JSON says.

use chrono::{Datelike, NaiveDate};
use reqwest::StatusCode;
use rust_decimal::{Decimal, RoundingStrategy};
use serde_json::Value;

use crate::book::*;

fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn dec(s: &str) -> Decimal {
    s.parse().unwrap()
}

/// Premium `amount` for cover `start..=end`, earned by the end of `date`
/// (days ÷ days, half-up to the cent).
fn earned_by(amount: Decimal, start: NaiveDate, end: NaiveDate, date: NaiveDate) -> Decimal {
    let total = (end - start).num_days() + 1;
    let days = ((date.min(end) - start).num_days() + 1).clamp(0, total);
    (amount * Decimal::from(days) / Decimal::from(total))
        .round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
}

fn month_end(year: i32, month: u32) -> NaiveDate {
    let next = if month == 12 {
        NaiveDate::from_ymd_opt(year + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(year, month + 1, 1)
    };
    next.unwrap().pred_opt().unwrap()
}

fn money(value: &Value) -> Decimal {
    assert_eq!(value["currency"], "KES", "{value}");
    value["amount"].as_str().unwrap().parse().unwrap()
}

#[tokio::test]
async fn premium_written_earned_and_unearned_match_figures_worked_out_apart() {
    let book = Book::open().await;
    let (first, _) = book.user("a@example.com", domain::Role::Customer).await;
    let (second, _) = book.user("b@example.com", domain::Role::Customer).await;
    let (auditor, _) = book
        .user("auditor@example.com", domain::Role::Auditor)
        .await;
    // 3.5% of 1,000,000 and of 500,000, for 25 Nov 2026 to 24 Nov 2027.
    book.active_policy(&first, "1000000.00").await;
    let (cancelled, _) = book.active_policy(&second, "500000.00").await;
    let path = "/reports/policies?from=2026-11-01&to=2027-12-31&group_by=month";
    // Read before the cancellation: the states kept since must follow it.
    let before = book.app.get(path, Some(&book.staff)).await;
    assert_eq!(before.status, StatusCode::OK, "{}", before.body);
    let reply = book
        .cancel(&second, &cancelled, "Emigrating", "2027-02-28")
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let (start, end) = (d("2026-11-25"), d("2027-11-24"));
    let (big, small) = (dec("35000"), dec("17500"));
    let cancel_on = d("2027-02-28");
    let small_earned = earned_by(small, start, end, cancel_on);
    assert_eq!(small_earned, dec("4602.74")); // 96 of 365 days
    let written_back = small - small_earned;

    let report = eventually("the cancellation in the report", || async {
        let body = book.app.get(path, Some(&book.staff)).await.body;
        let items = body["items"].as_array()?;
        items
            .iter()
            .any(|r| r["group"] == "2027-02" && money(&r["written"]) < Decimal::ZERO)
            .then_some(body)
    })
    .await;
    let items = report["items"].as_array().unwrap();
    assert_eq!(items.len(), 14);
    let mut previous = d("2026-10-31");
    let (mut written_total, mut earned_total) = (Decimal::ZERO, Decimal::ZERO);
    for row in items {
        let group = row["group"].as_str().unwrap();
        let (year, month) = (group[..4].parse().unwrap(), group[5..].parse().unwrap());
        let last = month_end(year, month);
        let small_by = |date: NaiveDate| earned_by(small, start, end, date.min(cancel_on));
        let earned = earned_by(big, start, end, last) - earned_by(big, start, end, previous)
            + small_by(last)
            - small_by(previous);
        let written = match group {
            "2026-11" => big + small,
            "2027-02" => -written_back,
            _ => Decimal::ZERO,
        };
        written_total += written;
        earned_total += earned;
        let unearned = written_total - earned_total;
        assert_eq!(money(&row["earned"]), earned, "{group} earned");
        assert_eq!(money(&row["written"]), written, "{group} written");
        assert_eq!(money(&row["unearned"]), unearned, "{group} unearned");
        previous = last;
        assert_eq!(last.year(), year);
    }
    assert_eq!(money(&items[0]["earned"]), dec("863.01")); // 575.34 + 287.67

    // By product, over the whole range: the same totals.
    let by_product = book
        .app
        .get(
            "/reports/policies?from=2026-11-01&to=2027-12-31&group_by=product",
            Some(&auditor),
        )
        .await
        .body;
    let motor = &by_product["items"][0];
    assert_eq!(motor["group"], "MOTOR");
    assert_eq!(motor["policies"], 2);
    assert_eq!(money(&motor["written"]), big + small - written_back);
    assert_eq!(money(&motor["earned"]), big + small_earned);
    assert_eq!(money(&motor["unearned"]), Decimal::ZERO);

    // CSV carries the same rows.
    let csv = book
        .app
        .client
        .get(format!("{}{path}", book.app.base))
        .bearer_auth(&book.staff)
        .header("accept", "text/csv")
        .send()
        .await
        .unwrap();
    assert!(csv.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let text = csv.text().await.unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next().unwrap(),
        "group,currency,policies,written,earned,unearned"
    );
    for (line, row) in lines.zip(items) {
        let fields: Vec<&str> = line.split(',').collect();
        assert_eq!(fields[0], row["group"]);
        assert_eq!(fields[1], "KES");
        assert_eq!(dec(fields[3]), money(&row["written"]));
        assert_eq!(dec(fields[4]), money(&row["earned"]));
        assert_eq!(dec(fields[5]), money(&row["unearned"]));
    }

    // Bad questions and the wrong people.
    for bad in [
        "/reports/policies?from=2027-01-01&to=2026-01-01",
        "/reports/policies?group_by=week",
        "/reports/policies?from=yesterday",
    ] {
        let reply = book.app.get(bad, Some(&book.staff)).await;
        assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    }
    let customer = book.app.get(path, Some(&first)).await;
    assert_eq!(customer.status, StatusCode::FORBIDDEN);
}

/// A CSV reply's lines, as `token` asks for `path`.
async fn csv_lines(book: &Book, token: &str, path: &str) -> Vec<String> {
    let reply = book
        .app
        .client
        .get(format!("{}{path}", book.app.base))
        .bearer_auth(token)
        .header("accept", "text/csv")
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), StatusCode::OK, "{path}");
    reply
        .text()
        .await
        .unwrap()
        .lines()
        .map(String::from)
        .collect()
}

#[tokio::test]
async fn claims_collections_commissions_and_ageing_match_figures_worked_out_apart() {
    let book = Book::open().await;
    // The product pays its agents 10% of premium paid.
    let rate = book
        .app
        .post(
            &format!("/policies/products/{}/commission", book.product_id),
            Some(&book.admin),
            &serde_json::json!({"rate": "0.10"}),
        )
        .await;
    assert_eq!(rate.status, StatusCode::OK, "{}", rate.body);
    assert_eq!(rate.body["commission_rate"], "0.10");
    let (agent, agent_id) = book.user("agent@example.com", domain::Role::Agent).await;
    let (a, a_id) = book.user("a@example.com", domain::Role::Customer).await;
    let (b, _) = book.user("b@example.com", domain::Role::Customer).await;
    let (c, c_id) = book.user("c@example.com", domain::Role::Customer).await;
    let (auditor, _) = book
        .user("auditor@example.com", domain::Role::Auditor)
        .await;
    for customer in [&a_id, &c_id] {
        let assigned = book
            .app
            .post(
                &format!("/customers/{customer}/assign-agent"),
                Some(&book.staff),
                &serde_json::json!({"agent_id": agent_id}),
            )
            .await;
        assert_eq!(assigned.status, StatusCode::OK, "{}", assigned.body);
    }
    // A pays 35,000 and C 17,500 (3.5%); C cancels from 28 Feb 2027 and
    // gets back what was unearned. B's 35,000.13 is declined (the sandbox
    // declines .13) and stays unpaid.
    let (a_policy, _) = book.active_policy(&a, "1000000.00").await;
    let (c_policy, _) = book.active_policy(&c, "500000.00").await;
    let (_, b_invoice) = book.approved_policy(&b, "1000003.72").await;
    book.pay(&b, &b_invoice).await;
    eventually("B's payment to fail", || async {
        let invoice = book.invoice(&b, &b_invoice).await;
        (invoice["payments"][0]["status"] == "failed").then_some(invoice)
    })
    .await;
    let cancelled = book
        .cancel(&c, &c_policy, "Sold the car", "2027-02-28")
        .await;
    assert_eq!(cancelled.status, StatusCode::OK, "{}", cancelled.body);
    let refund = dec("17500") - dec("4602.74"); // 96 of 365 days earned
    assert_eq!(money(&cancelled.body["refund"]), refund);

    // Claims on A's policy: 95,000 approved and paid; 20,000 approved, unpaid.
    let mut claims = Vec::new();
    for (claimed, approved) in [("120000.00", "95000.00"), ("50000.00", "20000.00")] {
        let filed = book
            .file_claim(
                &a,
                &a_policy,
                crate::common::TODAY,
                claimed,
                "Rear-ended at a roundabout",
            )
            .await;
        assert_eq!(filed.status, StatusCode::CREATED, "{}", filed.body);
        let id = filed.body["id"].as_str().unwrap().to_string();
        let reply = book.approve_claim(&id, approved).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        claims.push(id);
    }
    let paying = book
        .app
        .post(
            &format!("/claims/{}/pay", claims[0]),
            Some(&book.staff),
            &serde_json::json!({}),
        )
        .await;
    assert_eq!(paying.status, StatusCode::ACCEPTED, "{}", paying.body);

    // Claims: incurred 115,000, paid 95,000, outstanding 20,000, against
    // November's earned premium (6 of 365 days of 35,000 and of 17,500).
    let path = "/reports/claims?from=2026-11-01&to=2026-11-30&group_by=product";
    let report = eventually("the payout in the claims report", || async {
        let body = book.app.get(path, Some(&auditor)).await.body;
        let row = body["items"].as_array()?.first()?.clone();
        (money(&row["paid"]) == dec("95000")).then_some(row)
    })
    .await;
    let earned = dec("575.34") + dec("287.67");
    assert_eq!(report["group"], "MOTOR");
    assert_eq!(report["reported"], 2);
    assert_eq!(money(&report["incurred"]), dec("115000"));
    assert_eq!(money(&report["outstanding"]), dec("20000"));
    assert_eq!(money(&report["earned"]), earned);
    let ratio =
        (dec("115000") / earned).round_dp_with_strategy(4, RoundingStrategy::MidpointAwayFromZero);
    assert_eq!(report["loss_ratio"], ratio.to_string());
    let lines = csv_lines(&book, &book.staff, path).await;
    assert_eq!(
        lines[0],
        "group,currency,reported,incurred,paid,outstanding,case_reserves,earned,loss_ratio"
    );
    assert_eq!(
        lines[1],
        format!("MOTOR,KES,2,115000.00,95000.00,20000.00,0.00,{earned},{ratio}")
    );

    // Revenue: three payments asked of the sandbox, two received, one
    // declined; C's refund taken off.
    let path = "/reports/revenue?from=2026-11-01&to=2026-11-30";
    let revenue = eventually("the refund in the revenue report", || async {
        let body = book.app.get(path, Some(&book.staff)).await.body;
        let row = body["items"].as_array()?.first()?.clone();
        (money(&row["refunded"]) == refund).then_some(row)
    })
    .await;
    assert_eq!(revenue["group"], "2026-11");
    assert_eq!(revenue["provider"], "sandbox");
    assert_eq!(
        (
            &revenue["requested"],
            &revenue["pending"],
            &revenue["succeeded"],
            &revenue["failed"]
        ),
        (
            &serde_json::json!(3),
            &serde_json::json!(0),
            &serde_json::json!(2),
            &serde_json::json!(1)
        )
    );
    assert_eq!(revenue["success_rate"], "0.6667");
    assert_eq!(money(&revenue["collected"]), dec("52500"));
    assert_eq!(money(&revenue["net"]), dec("52500") - refund);
    let lines = csv_lines(&book, &auditor, path).await;
    assert_eq!(
        lines[1],
        format!(
            "2026-11,sandbox,KES,3,0,2,1,0.6667,52500.00,{refund},{}",
            dec("52500") - refund
        )
    );

    // Commissions: 10% of 35,000 and of 17,500, less 10% of C's refund
    // (12,897.26 → 1,289.73 taken back). B has no agent.
    let taken_back =
        (refund * dec("0.1")).round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
    assert_eq!(taken_back, dec("1289.73"));
    let path = "/reports/commissions?from=2026-11-01&to=2026-11-30";
    let staff_view = book.app.get(path, Some(&book.staff)).await.body;
    let row = &staff_view["items"][0];
    assert_eq!(staff_view["items"].as_array().unwrap().len(), 1);
    assert_eq!(row["agent_id"], agent_id.as_str());
    assert_eq!(row["policies"], 2);
    assert_eq!(money(&row["premium"]), dec("52500") - refund);
    assert_eq!(money(&row["commission"]), dec("5250") - taken_back);
    let own = book.app.get(path, Some(&agent)).await.body;
    assert_eq!(
        own["items"], staff_view["items"],
        "the agent sees their own"
    );
    let other_agent = book.user("agent2@example.com", domain::Role::Agent).await.0;
    let none = book.app.get(path, Some(&other_agent)).await.body;
    assert_eq!(none["items"], serde_json::json!([]));

    // Ageing: B's unpaid 35,000.13 is 1–30 days overdue the day after it
    // was due and 31–60 days on the 31st day.
    let due: NaiveDate = book.invoice(&b, &b_invoice).await["due_date"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    for (days, bucket) in [(1, "days_0_30"), (31, "days_31_60"), (91, "days_over_90")] {
        let as_of = due + chrono::Days::new(days);
        let ageing = book
            .app
            .get(&format!("/reports/ageing?as_of={as_of}"), Some(&book.staff))
            .await
            .body;
        let row = &ageing["items"][0];
        assert_eq!(row["invoices"], 1, "{ageing}");
        assert_eq!(
            money(&row[bucket]),
            dec("35000.13"),
            "{days} days: {ageing}"
        );
        assert_eq!(money(&row["total"]), dec("35000.13"));
    }
    let lines = csv_lines(
        &book,
        &book.staff,
        &format!("/reports/ageing?as_of={}", due + chrono::Days::new(31)),
    )
    .await;
    assert_eq!(lines[1], "all,KES,1,0.00,35000.13,0.00,0.00,35000.13");
    let past = book
        .app
        .get("/reports/ageing?as_of=2020-01-01", Some(&book.staff))
        .await;
    assert_eq!(past.status, StatusCode::UNPROCESSABLE_ENTITY);

    // The claims queue: the unpaid approval waits, filed today.
    let queue = book
        .app
        .get("/reports/claims/queue", Some(&book.staff))
        .await
        .body;
    assert_eq!(queue["items"][0]["status"], "approved", "{queue}");
    assert_eq!(queue["items"][0]["claims"], 1);
    assert_eq!(queue["items"][0]["days_0_7"], 1);

    daily_totals_match_the_movements(&book).await;

    // Customers read none of it.
    for path in [
        "/reports/claims",
        "/reports/revenue",
        "/reports/commissions",
        "/reports/ageing",
        "/reports/claims/queue",
    ] {
        assert_eq!(
            book.app.get(path, Some(&a)).await.status,
            StatusCode::FORBIDDEN,
            "{path}"
        );
    }
}

#[tokio::test]
async fn each_role_sees_its_own_dashboard() {
    let clock = projections::clock::SettableClock::at(d(crate::common::TODAY));
    let book = Book::open_with(ifinsure::settings::Settings {
        clock: std::sync::Arc::new(clock.clone()),
        ..crate::common::test_settings()
    })
    .await;
    let (agent, agent_id) = book.user("agent@example.com", domain::Role::Agent).await;
    let (customer, customer_id) = book.user("c@example.com", domain::Role::Customer).await;
    let (auditor, _) = book
        .user("auditor@example.com", domain::Role::Auditor)
        .await;
    let rate = book
        .app
        .post(
            &format!("/policies/products/{}/commission", book.product_id),
            Some(&book.admin),
            &serde_json::json!({"rate": "0.1"}),
        )
        .await;
    assert_eq!(rate.status, StatusCode::OK, "{}", rate.body);
    book.app
        .post(
            &format!("/customers/{customer_id}/assign-agent"),
            Some(&book.staff),
            &serde_json::json!({"agent_id": agent_id}),
        )
        .await;
    // An active policy, a second approved and unpaid, a third only applied
    // for, and a claim filed on the first.
    let (active, _) = book.active_policy(&customer, "1000000.00").await;
    let (_, unpaid_invoice) = book.approved_policy(&customer, "200000.00").await;
    let pending = book.apply(&agent, Some(&customer_id), "300000.00").await;
    let claim = book
        .file_claim(
            &customer,
            &active,
            crate::common::TODAY,
            "25000.00",
            "Windscreen cracked",
        )
        .await;
    assert_eq!(claim.status, StatusCode::CREATED, "{}", claim.body);

    let mine = eventually("the customer's dashboard", || async {
        let body = book
            .app
            .get("/reports/dashboard", Some(&customer))
            .await
            .body;
        (body["open_claims"].as_array()?.len() == 1).then_some(body)
    })
    .await;
    assert_eq!(mine["role"], "customer");
    assert_eq!(mine["policies"].as_array().unwrap().len(), 3);
    assert_eq!(
        mine["next_due_payment"]["invoice_id"],
        unpaid_invoice.as_str()
    );
    assert_eq!(mine["next_due_payment"]["balance"], kes("15000.00")); // the minimum premium
    assert_eq!(mine["open_claims"][0]["status"], "submitted");
    assert_eq!(mine["open_claims"][0]["claimed_amount"], kes("25000.00"));

    let agents = book.app.get("/reports/dashboard", Some(&agent)).await.body;
    assert_eq!(agents["role"], "agent");
    let waiting = agents["applications_pending"].as_array().unwrap();
    assert_eq!(waiting.len(), 1, "{agents}");
    assert_eq!(waiting[0]["id"], pending["id"]);
    assert_eq!(agents["renewals_due"], serde_json::json!([]));
    let commission = &agents["commission_this_month"]["items"][0];
    assert_eq!(money(&commission["premium"]), dec("35000"));
    assert_eq!(money(&commission["commission"]), dec("3500"));

    let staff = book
        .app
        .get("/reports/dashboard", Some(&book.staff))
        .await
        .body;
    assert_eq!(staff["role"], "staff");
    assert_eq!(staff["claims_queue"][0]["status"], "submitted", "{staff}");
    assert_eq!(staff["claims_queue"][0]["claims"], 1);
    assert_eq!(staff["applications_awaiting_approval"]["count"], 1);
    assert_eq!(
        staff["overdue_invoices"],
        serde_json::json!([]),
        "nothing due yet"
    );

    let admin = book
        .app
        .get("/reports/dashboard", Some(&book.admin))
        .await
        .body;
    assert_eq!(admin["role"], "admin");
    let premium = &admin["premium"][0];
    assert_eq!(premium["group"], "MOTOR");
    assert_eq!(money(&premium["written"]), dec("35000"));
    assert_eq!(admin["losses"][0]["reported"], 1);
    assert_eq!(admin["collections_this_month"]["items"][0]["succeeded"], 1);
    assert_eq!(admin["integrations"]["status"], "ok");
    let customers = admin["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["role"] == "customer")
        .unwrap();
    assert_eq!(
        (&customers["users"], &customers["active"]),
        (&serde_json::json!(1), &serde_json::json!(1))
    );
    let audited = book
        .app
        .get("/reports/dashboard", Some(&auditor))
        .await
        .body;
    assert_eq!(audited["premium"], admin["premium"]);

    // Later: the unpaid invoice is overdue for staff, and the active
    // policy's renewal is due within 30 days for the agent.
    let due: NaiveDate = book.invoice(&customer, &unpaid_invoice).await["due_date"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    clock.set(due + chrono::Days::new(3));
    let staff = book
        .app
        .get("/reports/dashboard", Some(&book.staff))
        .await
        .body;
    assert_eq!(
        money(&staff["overdue_invoices"][0]["days_0_30"]),
        dec("15000"),
        "{staff}"
    );
    clock.set(d("2027-11-10"));
    let agents = book.app.get("/reports/dashboard", Some(&agent)).await.body;
    assert_eq!(agents["renewals_due"][0]["id"], active.as_str(), "{agents}");
}

#[tokio::test]
async fn a_claim_closed_unpaid_releases_what_was_owed_and_a_reapproval_owes_anew() {
    let book = Book::open().await;
    let (customer, _) = book.user("c@example.com", domain::Role::Customer).await;
    let (policy, _) = book.active_policy(&customer, "1000000.00").await;
    let filed = book
        .file_claim(
            &customer,
            &policy,
            crate::common::TODAY,
            "30000.00",
            "Side mirror stolen",
        )
        .await;
    assert_eq!(filed.status, StatusCode::CREATED, "{}", filed.body);
    let id = filed.body["id"].as_str().unwrap().to_string();
    let step = |path: &'static str, body: serde_json::Value| {
        let (book, id) = (&book, id.clone());
        async move {
            let reply = book
                .app
                .post(&format!("/claims/{id}/{path}"), Some(&book.staff), &body)
                .await;
            assert_eq!(reply.status, StatusCode::OK, "{path}: {}", reply.body);
        }
    };
    // Approved for 20,000, closed unpaid, reopened, approved for 25,000 (never less than before)
    // and paid.
    step(
        "approve",
        serde_json::json!({"approved_amount": kes("20000.00")}),
    )
    .await;
    step("close", serde_json::json!({"reason": "Claimant withdrew"})).await;
    let path = "/reports/claims?from=2026-11-01&to=2026-11-30&group_by=product";
    let released = eventually("the release in the claims report", || async {
        let row = book.app.get(path, Some(&book.staff)).await.body["items"][0].clone();
        (row["incurred"] == kes("0.00")).then_some(row)
    })
    .await;
    assert_eq!(released["outstanding"], kes("0.00"));
    step(
        "reopen",
        serde_json::json!({"reason": "Police report arrived"}),
    )
    .await;
    step(
        "approve",
        serde_json::json!({"approved_amount": kes("25000.00")}),
    )
    .await;
    let owed = eventually("the re-approval in the claims report", || async {
        let row = book.app.get(path, Some(&book.staff)).await.body["items"][0].clone();
        (row["incurred"] == kes("25000.00")).then_some(row)
    })
    .await;
    assert_eq!(owed["outstanding"], kes("25000.00"));
    let paying = book
        .app
        .post(
            &format!("/claims/{id}/pay"),
            Some(&book.staff),
            &serde_json::json!({}),
        )
        .await;
    assert_eq!(paying.status, StatusCode::ACCEPTED, "{}", paying.body);
    let paid = eventually("the payout in the claims report", || async {
        let row = book.app.get(path, Some(&book.staff)).await.body["items"][0].clone();
        (row["paid"] == kes("25000.00")).then_some(row)
    })
    .await;
    assert_eq!(paid["incurred"], kes("25000.00"));
    assert_eq!(paid["outstanding"], kes("0.00"));
    assert_eq!(paid["reported"], 1);
}

#[tokio::test]
async fn case_reserves_follow_each_claim_until_it_is_decided() {
    let book = Book::open().await;
    let (customer, _) = book.user("c@example.com", domain::Role::Customer).await;
    let (policy, _) = book.active_policy(&customer, "1000000.00").await;
    let mut claims = Vec::new();
    for claimed in ["300000.00", "50000.00"] {
        let filed = book
            .file_claim(
                &customer,
                &policy,
                crate::common::TODAY,
                claimed,
                "Flooded engine",
            )
            .await;
        assert_eq!(filed.status, StatusCode::CREATED, "{}", filed.body);
        claims.push(filed.body["id"].as_str().unwrap().to_string());
    }
    let step = |id: &str, path: &'static str, body: serde_json::Value| {
        let (book, path) = (&book, format!("/claims/{id}/{path}"));
        async move {
            let reply = book.app.post(&path, Some(&book.staff), &body).await;
            assert_eq!(reply.status, StatusCode::OK, "{path}: {}", reply.body);
        }
    };
    let path = "/reports/claims?from=2026-11-01&to=2026-11-30&group_by=product";
    let report_shows = |what: &'static str, reserves: &'static str| {
        let book = &book;
        async move {
            eventually(what, || async {
                let row = book.app.get(path, Some(&book.staff)).await.body["items"][0].clone();
                (row["case_reserves"] == kes(reserves)).then_some(row)
            })
            .await
        }
    };
    let reserve = |amount: &str| serde_json::json!({"amount": kes(amount)});

    // Reserved: 200,000 and 40,000 while under review.
    step(&claims[0], "reserve", reserve("200000.00")).await;
    step(&claims[1], "reserve", reserve("40000.00")).await;
    let row = report_shows("both reserves", "240000.00").await;
    assert_eq!(
        row["incurred"],
        kes("0.00"),
        "a reserve is an estimate, not incurred"
    );
    let lines = csv_lines(&book, &book.staff, path).await;
    let fields: Vec<&str> = lines[1].split(',').collect();
    assert_eq!(
        fields[..7],
        ["MOTOR", "KES", "2", "0.00", "0.00", "0.00", "240000.00"]
    );

    // A reserve is bounded by the sum insured of the claim's term.
    let refused = book
        .app
        .post(
            &format!("/claims/{}/reserve", claims[1]),
            Some(&book.staff),
            &reserve("1000000.01"),
        )
        .await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.body
    );

    // The second is rejected: its reserve goes.
    step(
        &claims[1],
        "reject",
        serde_json::json!({"reason": "Not covered"}),
    )
    .await;
    report_shows("the rejected claim's reserve released", "200000.00").await;

    // The first is re-reserved at 250,000 and approved for 230,000: what
    // is approved is owed (outstanding); the reserve's excess stays open.
    step(&claims[0], "reserve", reserve("250000.00")).await;
    report_shows("the raised reserve", "250000.00").await;
    step(
        &claims[0],
        "approve",
        serde_json::json!({"approved_amount": kes("230000.00")}),
    )
    .await;
    let row = report_shows("the approval taking over the reserve", "20000.00").await;
    assert_eq!(row["outstanding"], kes("230000.00"));

    // Paid in full: the claim is done and reserves nothing.
    let paying = book
        .app
        .post(
            &format!("/claims/{}/pay", claims[0]),
            Some(&book.staff),
            &serde_json::json!({}),
        )
        .await;
    assert_eq!(paying.status, StatusCode::ACCEPTED, "{}", paying.body);
    let row = report_shows("the paid claim's reserve released", "0.00").await;
    assert_eq!(row["paid"], kes("230000.00"));
    assert_eq!(row["outstanding"], kes("0.00"));
}

/// The daily totals the reports read, kept as movements are written, equal
/// the movements totalled afresh; and equal them again when built from the
/// movements alone (a deployment whose movements came before the totals).
async fn daily_totals_match_the_movements(book: &Book) {
    crate::common::caught_up(&book.app.db.pool, "reporting").await;
    let pool = &book.app.db.pool;
    let afresh = "SELECT m.business_date, m.kind, m.product_code, coalesce(m.provider, ''), m.currency,
                         count(*), count(*) FILTER (WHERE m.kind = 'payment_requested' AND NOT EXISTS (
                             SELECT 1 FROM report_movements o WHERE o.item_id = m.item_id
                               AND o.kind IN ('payment_succeeded', 'payment_failed'))), sum(m.amount)
                  FROM report_movements m GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5";
    type Total = (
        chrono::NaiveDate,
        String,
        String,
        String,
        String,
        i64,
        i64,
        rust_decimal::Decimal,
    );
    let expected: Vec<Total> = sqlx::query_as(afresh).fetch_all(pool).await.unwrap();
    let kept = "SELECT business_date, kind, product_code, provider, currency, count, open, amount
                FROM report_daily ORDER BY 1, 2, 3, 4, 5";
    let daily: Vec<Total> = sqlx::query_as(kept).fetch_all(pool).await.unwrap();
    assert!(
        expected.iter().any(|t| t.1 == "payment_succeeded"),
        "{expected:?}"
    );
    assert_eq!(daily, expected);
    // Built from the movements alone, by the projection's own start.
    sqlx::query("DROP TABLE report_daily")
        .execute(pool)
        .await
        .unwrap();
    projections::read_models::create_live_tables(pool)
        .await
        .unwrap();
    let rebuilt: Vec<Total> = sqlx::query_as(kept).fetch_all(pool).await.unwrap();
    assert_eq!(rebuilt, expected);
}
