use domain::notifications::{Channel, Template, SMS_LIMIT};
use serde_json::json;

use super::*;

/// Realistic facts for every template (long names and amounts on purpose).
fn data() -> Value {
    json!({
        "recipient": {"name": "Wanjiku Kamau-Otieno"},
        "product_name": "Motor Comprehensive Private", "policy_number": "POL-2026-000123",
        "sum_insured": "KES 1,000,000.00", "premium": "KES 35,000.00", "start_date": "25 Nov 2026",
        "end_date": "24 Nov 2027", "invoice_number": "INV-2026-000456", "due_date": "9 Dec 2026",
        "reason": "The vehicle is older than the product allows", "claim_number": "CLM-2026-000789",
        "claimed_amount": "KES 120,000.00", "incident_date": "20 Nov 2026", "status_text": "under review",
        "approved_amount": "KES 95,000.00", "paid_amount": "KES 95,000.00", "amount": "KES 35,000.00",
        "balance": "KES 35,000.00", "reference": "SKL7OWQX0R", "token": "3f9a1c0d-77aa", "valid_minutes": 30,
        "effective_date": "1 Mar 2027", "refund": "KES 17,643.84", "lapsed_on": "8 Jan 2027",
        "days_before": 30, "stage": "final", "pay_by": "8 Jan 2027",
        "customer": {"name": "Wanjiku Kamau-Otieno", "email": "wanjiku@example.co.ke"}
    })
}

#[test]
fn every_template_renders_with_realistic_data_and_every_sms_fits_one_message() {
    let templates = Templates::load(Branding::default()).unwrap();
    for template in Template::ALL {
        let email = templates
            .render(
                template,
                Channel::Email,
                &data(),
                Some("https://ifinsure.example/u/1"),
            )
            .unwrap();
        let subject = email.subject.unwrap();
        assert!(
            !subject.is_empty() && !subject.contains('\n'),
            "{template:?}"
        );
        assert!(email.text.contains("Wanjiku Kamau-Otieno"), "{template:?}");
        let html = email.html.unwrap();
        // minijinja escapes `/` in HTML (`&#x2f;`), which browsers decode.
        assert!(
            html.contains("ifinsure.example&#x2f;u&#x2f;1") && html.contains("<p"),
            "{template:?}"
        );
        assert!(email.text.contains("https://ifinsure.example/u/1"));
        if template.also_by_sms() {
            let sms = templates
                .render(template, Channel::Sms, &data(), None)
                .unwrap();
            assert!(
                sms.text.chars().count() <= SMS_LIMIT,
                "{template:?}: {}",
                sms.text
            );
            assert!(sms.text.starts_with("ifinsure:"));
        }
    }
}

#[test]
fn html_is_escaped_and_missing_facts_are_errors_not_blanks() {
    let templates = Templates::load(Branding::default()).unwrap();
    let mut hostile = data();
    hostile["reason"] = json!("<script>alert(1)</script>");
    let email = templates
        .render(
            Template::ApplicationRejected,
            Channel::Email,
            &hostile,
            None,
        )
        .unwrap();
    assert!(!email.html.unwrap().contains("<script>"));
    let missing = templates.render(
        Template::InvoiceCreated,
        Channel::Email,
        &json!({"recipient": {"name": "A"}}),
        None,
    );
    assert!(missing.is_err());
}

#[test]
fn the_staff_queue_and_agents_get_their_own_wording_and_never_the_customers_link() {
    let templates = Templates::load(Branding::default()).unwrap();
    let mut agent = data();
    agent["recipient"] = json!({"name": "Otieno Agent"});
    for template in Template::ALL.into_iter().filter(|t| t.copied_to_agent()) {
        let copy = templates
            .render_agent_copy(template, &agent, Some("https://ifinsure.example/u/agent"))
            .unwrap();
        let subject = copy.subject.unwrap();
        assert!(subject.starts_with("[Copy] ") && subject.ends_with(": Wanjiku Kamau-Otieno"));
        assert!(
            copy.text.starts_with("Hello Otieno Agent,"),
            "{}",
            copy.text
        );
        assert!(copy
            .text
            .contains("your customer Wanjiku Kamau-Otieno (wanjiku@example.co.ke)"));
        assert!(copy.text.contains("Dear Wanjiku Kamau-Otieno,"));
        assert!(copy.text.contains("u/agent") && !copy.text.contains("u/1"));
    }
    for template in Template::ALL.into_iter().filter(|t| t.for_staff_queue()) {
        let staff = templates.render_for_staff(template, &data()).unwrap();
        assert!(
            staff.text.contains("wanjiku@example.co.ke"),
            "{}",
            staff.text
        );
        assert!(!staff.text.contains("Manage or stop"));
    }
}

#[test]
fn the_final_overdue_notice_says_so_and_names_the_last_day() {
    let templates = Templates::load(Branding::default()).unwrap();
    let mut second = data();
    second["stage"] = json!("second");
    let email = templates
        .render(Template::InvoiceOverdue, Channel::Email, &second, None)
        .unwrap();
    assert_eq!(email.subject.unwrap(), "Invoice INV-2026-000456 is overdue");
    assert!(email.text.contains("Please pay it by 8 Jan 2027"));
    let last = templates
        .render(Template::InvoiceOverdue, Channel::Email, &data(), None)
        .unwrap();
    assert_eq!(
        last.subject.unwrap(),
        "Final notice: invoice INV-2026-000456"
    );
    assert!(last.text.contains("the policy lapses"));
    let sms = templates
        .render(Template::InvoiceOverdue, Channel::Sms, &data(), None)
        .unwrap();
    assert!(sms.text.contains("FINAL NOTICE") && sms.text.chars().count() <= SMS_LIMIT);
}
