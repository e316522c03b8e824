use cqrs_es::test::TestFramework;

use super::*;
use crate::validation::FieldError;

type SettingsTest = TestFramework<Settings>;

fn defaults() -> SettingsValues {
    SettingsValues {
        general: GeneralSettings {
            company_name: "ifinsure Ltd".into(),
            default_currency: "KES".into(),
            business_utc_offset_minutes: 180,
            support_email: "support@ifinsure.example".into(),
            support_phone: None,
        },
        branding: BrandingSettings {
            brand_name: "ifinsure".into(),
            logo_url: None,
            primary_colour: "#0b5394".into(),
        },
        email: EmailSettings {
            from_name: "ifinsure".into(),
            from_address: "no-reply@ifinsure.example".into(),
            reply_to: None,
            footer: String::new(),
        },
        security: SecuritySettings {
            password_min_length: 12,
            lockout_threshold: 5,
            lockout_minutes: 15,
            session_idle_minutes: 60,
            access_token_ttl_secs: 900,
        },
    }
}

fn branding(name: &str, colour: &str) -> BrandingSettings {
    BrandingSettings {
        brand_name: name.into(),
        logo_url: None,
        primary_colour: colour.into(),
    }
}

fn change(values: SectionValues) -> SettingsCommand {
    SettingsCommand::Change {
        values,
        defaults: defaults(),
    }
}

fn fields_refused(values: SectionValues) -> Vec<String> {
    let settings = Settings::default();
    match settings.decide(change(values)) {
        Err(SettingsError::Validation(errors)) => errors.0.into_iter().map(|e| e.field).collect(),
        other => panic!("expected field errors, got {other:?}"),
    }
}

#[test]
fn saving_a_section_names_the_fields_that_changed_from_the_defaults() {
    SettingsTest::with(())
        .given_no_previous_events()
        .when(change(SectionValues::Branding(branding(
            " Bima Bora ",
            "#AA3300",
        ))))
        .then_expect_events(vec![SettingsEvent::SettingsChanged {
            fields: vec!["brand_name".into(), "primary_colour".into()],
            values: SectionValues::Branding(branding("Bima Bora", "#aa3300")),
        }]);
}

#[test]
fn saving_again_names_only_what_changed_since_the_last_save() {
    SettingsTest::with(())
        .given(vec![SettingsEvent::SettingsChanged {
            fields: vec!["brand_name".into()],
            values: SectionValues::Branding(branding("Bima Bora", "#0b5394")),
        }])
        .when(change(SectionValues::Branding(branding(
            "Bima Bora",
            "#123456",
        ))))
        .then_expect_events(vec![SettingsEvent::SettingsChanged {
            fields: vec!["primary_colour".into()],
            values: SectionValues::Branding(branding("Bima Bora", "#123456")),
        }]);
}

#[test]
fn saving_the_same_values_again_records_nothing() {
    SettingsTest::with(())
        .given(vec![SettingsEvent::SettingsChanged {
            fields: vec!["brand_name".into()],
            values: SectionValues::Branding(branding("Bima Bora", "#0b5394")),
        }])
        .when(change(SectionValues::Branding(branding(
            "Bima Bora",
            "#0b5394",
        ))))
        .then_expect_events(vec![]);
}

#[test]
fn a_first_save_equal_to_the_defaults_is_recorded_so_the_section_stops_following_them() {
    SettingsTest::with(())
        .given_no_previous_events()
        .when(change(SectionValues::Security(defaults().security)))
        .then_expect_events(vec![SettingsEvent::SettingsChanged {
            fields: vec![],
            values: SectionValues::Security(defaults().security),
        }]);
}

#[test]
fn what_is_in_force_is_each_saved_section_else_the_default() {
    let mut settings = Settings::default();
    settings.apply(SettingsEvent::SettingsChanged {
        fields: vec!["brand_name".into()],
        values: SectionValues::Branding(branding("Bima Bora", "#0b5394")),
    });
    let effective = settings.effective(&defaults());
    assert_eq!(effective.branding.brand_name, "Bima Bora");
    assert_eq!(effective.security, defaults().security);
    assert_eq!(effective.brand().name, "Bima Bora");
    assert_eq!(effective.brand().support_email, "support@ifinsure.example");
}

#[test]
fn a_colour_that_is_not_rrggbb_and_a_logo_that_is_not_https_are_refused() {
    for colour in ["navy", "#fff", "#12345g", "0b5394", "#0b53944"] {
        assert_eq!(
            fields_refused(SectionValues::Branding(branding("Bima", colour))),
            ["primary_colour"],
            "{colour}"
        );
    }
    for logo in [
        "http://cdn.example/logo.png",
        "https://",
        "ftp://x",
        "https:///x",
        "https://a b",
    ] {
        let values = BrandingSettings {
            logo_url: Some(logo.into()),
            ..branding("Bima", "#0b5394")
        };
        assert_eq!(
            fields_refused(SectionValues::Branding(values)),
            ["logo_url"],
            "{logo}"
        );
    }
    assert_eq!(
        fields_refused(SectionValues::Branding(branding("  ", "#0b5394"))),
        ["brand_name"]
    );
    // A blank logo is no logo.
    let blank = BrandingSettings {
        logo_url: Some("  ".into()),
        ..branding("Bima", "#0b5394")
    };
    assert_eq!(blank.validated().unwrap().logo_url, None);
}

#[test]
fn security_values_out_of_range_are_refused_each_by_name() {
    let security = SecuritySettings {
        password_min_length: 8,
        lockout_threshold: 0,
        lockout_minutes: 0,
        session_idle_minutes: 1,
        access_token_ttl_secs: 10,
    };
    let settings = Settings::default();
    let Err(SettingsError::Validation(errors)) =
        settings.decide(change(SectionValues::Security(security)))
    else {
        panic!("expected field errors");
    };
    assert_eq!(
        errors.0,
        vec![
            FieldError {
                field: "password_min_length".into(),
                message: "must be from 12 to 128 characters".into()
            },
            FieldError {
                field: "lockout_threshold".into(),
                message: "must be from 1 to 100 failed sign-ins".into()
            },
            FieldError {
                field: "lockout_minutes".into(),
                message: "must be from 1 to 1440 minutes".into()
            },
            FieldError {
                field: "session_idle_minutes".into(),
                message: "must be from 5 to 10080 minutes".into()
            },
            FieldError {
                field: "access_token_ttl_secs".into(),
                message: "must be from 60 to 86400 seconds".into()
            },
        ]
    );
    let mut ok = defaults().security;
    ok.lockout_threshold = 1;
    assert_eq!(ok.validated(), Ok(ok));
}

#[test]
fn general_and_email_addresses_currency_and_offset_are_checked() {
    let general = GeneralSettings {
        company_name: "Bima Ltd".into(),
        default_currency: "XYZ".into(),
        business_utc_offset_minutes: 900,
        support_email: "not an address".into(),
        support_phone: Some("12".into()),
    };
    assert_eq!(
        fields_refused(SectionValues::General(general)),
        [
            "default_currency",
            "business_utc_offset_minutes",
            "support_email",
            "support_phone"
        ]
    );
    let email = EmailSettings {
        from_name: String::new(),
        from_address: "nobody".into(),
        reply_to: Some("also nobody".into()),
        footer: "x".repeat(1_001),
    };
    assert_eq!(
        fields_refused(SectionValues::Email(email)),
        ["from_name", "from_address", "reply_to", "footer"]
    );
    // The currency in capitals; the phone as written, for people to read.
    let general = GeneralSettings {
        default_currency: "usd".into(),
        support_phone: Some(" +254 20 555 0100 ".into()),
        ..defaults().general
    };
    let saved = general.validated().unwrap();
    assert_eq!(saved.default_currency, "USD");
    assert_eq!(saved.support_phone.as_deref(), Some("+254 20 555 0100"));
}
