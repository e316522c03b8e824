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

    let path = "/reports/policies?from=2026-11-01&to=2027-12-31&group_by=month";
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
