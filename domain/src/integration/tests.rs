//! Given/when/then tests of integration configurations.

use cqrs_es::test::TestFramework;

use super::*;
use crate::ids::IntegrationId;

type Given = TestFramework<IntegrationConfig>;

const ID: IntegrationId = IntegrationId(uuid::Uuid::from_u128(1));

fn stripe() -> NewConfig {
    NewConfig {
        config_id: ID,
        provider: "stripe".into(),
        name: " Stripe test ".into(),
        environment: Environment::Sandbox,
        enabled: true,
        is_primary: true,
        priority: 1,
        settings: Settings::from([("base_url".to_string(), "http://127.0.0.1:9999".to_string())]),
        credential_fields: vec!["webhook_secret".into(), "secret_key".into()],
    }
}

fn fields(result: Result<Vec<IntegrationEvent>, IntegrationError>) -> Vec<String> {
    match result {
        Err(IntegrationError::Validation(errors)) => {
            errors.0.into_iter().map(|e| e.field).collect()
        }
        other => panic!("expected a validation error, got {other:?}"),
    }
}

fn decided(
    given: Vec<IntegrationEvent>,
    command: IntegrationCommand,
) -> Result<Vec<IntegrationEvent>, IntegrationError> {
    Given::with(()).given(given).when(command).inspect_result()
}

fn created() -> Vec<IntegrationEvent> {
    decided(vec![], IntegrationCommand::Create(stripe())).unwrap()
}

#[test]
fn configuring_records_the_credential_names_not_their_values() {
    let events = created();
    let IntegrationEvent::IntegrationConfigured(details) = &events[0] else {
        panic!("{events:?}")
    };
    assert_eq!(details.category, "payment");
    assert_eq!(details.name, "Stripe test");
    assert_eq!(
        details.credential_fields,
        vec!["secret_key", "webhook_secret"]
    );
}

#[test]
fn the_provider_schema_is_enforced_field_by_field() {
    let mut unknown = stripe();
    unknown.provider = "paypal".into();
    assert_eq!(
        fields(decided(vec![], IntegrationCommand::Create(unknown))),
        vec!["provider"]
    );
    let mut mpesa = stripe();
    mpesa.provider = "mpesa".into();
    mpesa.settings.insert("passkey".into(), "oops".into());
    mpesa.settings.insert("colour".into(), "red".into());
    mpesa.credential_fields = vec!["consumer_key".into()];
    assert_eq!(
        fields(decided(vec![], IntegrationCommand::Create(mpesa))),
        vec![
            "credentials.consumer_secret",
            "settings.shortcode",
            "credentials.passkey",
            "settings.colour",
            "settings.passkey",
        ]
    );
}

#[test]
fn identifiers_may_come_with_the_credentials_as_providers_list_them() {
    let mut mpesa = stripe();
    mpesa.provider = "mpesa".into();
    mpesa.credential_fields = [
        "consumer_key",
        "consumer_secret",
        "shortcode",
        "passkey",
        "initiator_name",
        "initiator_password",
    ]
    .map(String::from)
    .to_vec();
    assert!(decided(vec![], IntegrationCommand::Create(mpesa)).is_ok());
    let mut twilio = stripe();
    twilio.provider = "twilio".into();
    twilio.credential_fields = vec!["account_sid".into(), "auth_token".into()];
    assert_eq!(
        fields(decided(vec![], IntegrationCommand::Create(twilio))),
        vec!["settings.from"]
    );
}

#[test]
fn updates_name_what_changed_and_toggling_flips() {
    let update = IntegrationCommand::Update {
        name: None,
        enabled: Some(true),
        is_primary: Some(false),
        priority: None,
        settings: None,
        credential_fields: Some(vec!["secret_key".into(), "webhook_secret".into()]),
    };
    let events = decided(created(), update).unwrap();
    let IntegrationEvent::IntegrationUpdated { changed, .. } = &events[0] else {
        panic!("{events:?}")
    };
    assert_eq!(
        changed,
        &vec![
            "is_primary",
            "credentials.secret_key",
            "credentials.webhook_secret"
        ]
    );
    Given::with(())
        .given(created())
        .when(IntegrationCommand::Toggle)
        .then_expect_events(vec![IntegrationEvent::IntegrationToggled {
            enabled: false,
        }]);
    assert_eq!(
        decided(vec![], IntegrationCommand::Toggle),
        Err(IntegrationError::NotFound)
    );
}

/// What the validation errors of `result` say, as `field: message`.
fn messages(result: Result<Vec<IntegrationEvent>, IntegrationError>) -> Vec<String> {
    match result {
        Err(IntegrationError::Validation(errors)) => errors
            .0
            .into_iter()
            .map(|e| format!("{}: {}", e.field, e.message))
            .collect(),
        other => panic!("expected a validation error, got {other:?}"),
    }
}

#[test]
fn a_payment_configuration_takes_only_currencies_its_provider_takes_and_it_names() {
    // Given a Paystack account that settles Kenyan shillings and dollars.
    let mut paystack = stripe();
    paystack.provider = "paystack".into();
    paystack.credential_fields = vec!["secret_key".into()];
    paystack
        .settings
        .insert(CURRENCIES.into(), "KES, USD".into());
    let events = decided(vec![], IntegrationCommand::Create(paystack.clone())).unwrap();
    let IntegrationEvent::IntegrationConfigured(details) = &events[0] else {
        panic!("{events:?}")
    };
    // Then it takes those, not another Paystack currency nor one Paystack
    // does not take.
    assert!(details.takes("KES") && details.takes("USD"));
    assert!(!details.takes("NGN"));
    assert!(!details.takes("BHD"));
    // And without the setting, its provider's list decides; Stripe's is
    // open.
    paystack.settings.remove(CURRENCIES);
    assert!(takes("paystack", &paystack.settings, "NGN"));
    assert!(!takes("paystack", &paystack.settings, "BHD"));
    assert!(takes("stripe", &Settings::new(), "BHD"));
    assert!(!takes("mpesa", &Settings::new(), "USD"));

    // When an admin names a currency the provider does not take, or none
    // at all, it is refused and says why.
    for (named, expected) in [
        (
            "KES,BHD",
            "settings.currencies: BHD is not a currency Paystack takes (NGN, GHS, ZAR, KES, USD)",
        ),
        (
            "KES,XYZ",
            "settings.currencies: XYZ is not an ISO 4217 currency ifinsure knows",
        ),
        (
            "KES,",
            "settings.currencies: must list ISO 4217 codes separated by commas, e.g. KES,USD",
        ),
    ] {
        paystack.settings.insert(CURRENCIES.into(), named.into());
        assert_eq!(
            messages(decided(
                vec![],
                IntegrationCommand::Create(paystack.clone())
            )),
            vec![expected.to_string()],
            "{named}"
        );
    }
}

#[test]
fn a_sendgrid_verification_key_must_be_a_p256_public_key() {
    let mut sendgrid = stripe();
    sendgrid.provider = "sendgrid".into();
    sendgrid.credential_fields = vec!["api_key".into()];
    sendgrid
        .settings
        .insert("from".into(), "no-reply@example.com".into());
    sendgrid
        .settings
        .insert("webhook_verification_key".into(), "not a key".into());
    assert_eq!(
        messages(decided(
            vec![],
            IntegrationCommand::Create(sendgrid.clone())
        )),
        vec![
            "settings.webhook_verification_key: must be the Event Webhook's verification key \
              as SendGrid's Mail Settings shows it (base64 of a P-256 public key)"
                .to_string()
        ]
    );
    // sendgrid-nodejs's own test key.
    sendgrid.settings.insert(
        "webhook_verification_key".into(),
        "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEEDr2LjtURuePQzplybdC+u4CwrqDqBaWjcMMsTbhdbcwHBcepxo7yAQGhHPTnlvFYPAZFceEu/1FwCM/QmGUhA==".into(),
    );
    assert!(decided(vec![], IntegrationCommand::Create(sendgrid)).is_ok());
}
