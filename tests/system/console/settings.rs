//! Settings in the console: an admin saves a section; the brand is in
//! every page's header and stylesheet at once; a refused value is shown
//! beside its field with what was typed kept.

use reqwest::StatusCode;

use super::browser::Browser;
use super::Book;
use crate::common::PASSWORD;

#[tokio::test]
async fn an_admin_saves_the_branding_and_every_page_shows_it_and_refusals_sit_by_their_fields() {
    let book = Book::open().await;
    let admin = Browser::new(&book.app);
    admin.sign_in("admin@example.com", PASSWORD).await;
    let index = admin.get("/settings").await;
    assert_eq!(index.location(), Some("/settings/general"));
    let page = admin.get("/settings/branding").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    assert!(page.shows("Not saved yet"), "{}", page.html);
    assert!(page.shows("value=\"#0b5394\""), "{}", page.html);

    let refused = admin
        .submit(
            &page,
            "/settings/branding",
            &[
                ("brand_name", "Bima Bora"),
                ("logo_url", "http://x.example/l.png"),
                ("primary_colour", "blue"),
            ],
        )
        .await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.html
    );
    assert!(
        refused.shows("must be a colour as #rrggbb"),
        "{}",
        refused.html
    );
    assert!(
        refused.shows("must be an https:// address"),
        "{}",
        refused.html
    );
    assert!(
        refused.shows("value=\"Bima Bora\""),
        "kept: {}",
        refused.html
    );

    let saved = admin
        .submit(
            &page,
            "/settings/branding",
            &[
                ("brand_name", "Bima Bora"),
                ("logo_url", ""),
                ("primary_colour", "#aa3300"),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.html);
    let page = admin.follow(&saved).await;
    assert!(page.shows("Settings saved: branding"), "{}", page.html);
    assert!(page.shows("Saved by an admin"), "{}", page.html);
    // The customer's header, and the brand's stylesheet.
    let theirs = book.customer.get("/dashboard").await;
    assert!(
        theirs.shows("class=\"brand\" href=\"/dashboard\">Bima Bora</a>"),
        "{}",
        theirs.html
    );
    let css = book.customer.get("/brand.css?v=1").await;
    assert!(css.shows("--brand: #aa3300;"), "{}", css.html);

    // Numbers: a word is named here, a rule by the API.
    let page = admin.get("/settings/security").await;
    let fields = |threshold: &'static str| {
        [
            ("password_min_length", "12"),
            ("lockout_threshold", threshold),
            ("lockout_minutes", "15"),
            ("session_idle_minutes", "60"),
            ("access_token_ttl_secs", "900"),
        ]
    };
    let word = admin
        .submit(&page, "/settings/security", &fields("five"))
        .await;
    assert_eq!(word.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(word.shows("must be a whole number"), "{}", word.html);
    let zero = admin
        .submit(&page, "/settings/security", &fields("0"))
        .await;
    assert_eq!(zero.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        zero.shows("must be from 1 to 100 failed sign-ins"),
        "{}",
        zero.html
    );
    // Not for staff.
    assert_eq!(
        book.staff.get("/settings/branding").await.status,
        StatusCode::FORBIDDEN
    );
}
