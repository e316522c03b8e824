//! Reports in the console: staff open each report and see it drawn as a
//! chart with its figures in a table, and download the same rows as CSV;
//! a period with nothing in it says so instead of drawing nothing; a bad
//! date is said beside its field; an agent reads only commissions.

use reqwest::StatusCode;

use super::browser::Browser;
use super::Book;
use crate::common::PASSWORD;

#[tokio::test]
async fn staff_read_every_report_as_a_chart_and_a_table_and_download_its_csv() {
    let book = Book::open().await;
    book.active_policy().await;
    crate::common::caught_up(&book.app.db.pool, "reporting").await;
    let index = book.staff.get("/reports").await;
    assert_eq!(index.status, StatusCode::OK, "{}", index.html);
    for name in ["policies", "claims", "revenue", "commissions", "ageing"] {
        assert!(index.shows(&format!("href=\"/reports/{name}\"")), "{name}");
        let page = book.staff.get(&format!("/reports/{name}")).await;
        assert_eq!(page.status, StatusCode::OK, "{name}: {}", page.html);
        assert!(page.shows("<table>"), "{name}");
        assert!(page.shows("Download CSV"), "{name}");
        let csv = book.staff.get(&format!("/reports/{name}.csv")).await;
        assert_eq!(csv.status, StatusCode::OK, "{name}: {}", csv.html);
        assert_eq!(
            csv.header("content-type"),
            Some("text/csv; charset=utf-8"),
            "{name}"
        );
        assert!(
            csv.header("content-disposition")
                .unwrap()
                .contains("attachment"),
            "{name}"
        );
        assert!(csv.html.starts_with("group,"), "{name}: {}", csv.html);
    }
    // The premium paid today is drawn; so are the collections.
    for name in ["policies", "revenue"] {
        let page = book.staff.get(&format!("/reports/{name}")).await;
        assert!(page.shows("<svg class=\"chart\""), "{name}: {}", page.html);
        assert!(page.shows("role=\"img\""), "{name}");
    }
    let premium = book.staff.get("/reports/policies?group_by=product").await;
    assert!(premium.shows("MOTOR-CONSOLE"), "{}", premium.html);
    assert!(premium.shows("KES 35,000.00"), "{}", premium.html);
    // Nothing in the period: said, not drawn.
    let empty = book
        .staff
        .get("/reports/policies?from=2020-01-01&to=2020-12-31")
        .await;
    assert!(
        empty.shows("No data to chart for this period."),
        "{}",
        empty.html
    );
    assert!(!empty.shows("<svg class=\"chart\""));
    // A date that is not one is said beside its field.
    let bad = book.staff.get("/reports/claims?from=yesterday").await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.html);
    assert!(bad.shows("id=\"report-from-error\""), "{}", bad.html);

    // An agent reads commissions only.
    book.app
        .user("agent@example.com", domain::Role::Agent)
        .await;
    let agent = Browser::new(&book.app);
    agent.sign_in("agent@example.com", PASSWORD).await;
    let theirs = agent.get("/reports").await;
    assert!(
        theirs.shows("href=\"/reports/commissions\""),
        "{}",
        theirs.html
    );
    assert!(
        !theirs.shows("href=\"/reports/policies\""),
        "{}",
        theirs.html
    );
    assert_eq!(
        agent.get("/reports/commissions").await.status,
        StatusCode::OK
    );
    assert_eq!(
        agent.get("/reports/policies").await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        agent.get("/reports/policies.csv").await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        book.customer.get("/reports").await.status,
        StatusCode::FORBIDDEN
    );
}
