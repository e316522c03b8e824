//! The catalogue of providers the Integrations Center can configure: their
//! category, configuration fields (which are secret), base URLs, and what
//! they support. Field names follow each provider's own vocabulary.

use serde::Serialize;

/// What a provider does for ifinsure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// Premium payments, refunds and claim payouts.
    Payment,
    /// Text messages.
    Sms,
    /// Email.
    Email,
    /// Documents and generated PDFs.
    Storage,
}

impl Category {
    /// Every category.
    pub const ALL: [Category; 4] = [
        Category::Payment,
        Category::Sms,
        Category::Email,
        Category::Storage,
    ];

    /// The category's stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Payment => "payment",
            Category::Sms => "sms",
            Category::Email => "email",
            Category::Storage => "storage",
        }
    }
}

/// One configuration field of a provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Field {
    /// Its name in `credentials` (secret) or `settings` (not secret).
    pub name: &'static str,
    /// Whether it is a credential: encrypted at rest, never shown in clear.
    pub secret: bool,
    /// Whether a configuration needs it.
    pub required: bool,
}

const fn secret(name: &'static str) -> Field {
    Field {
        name,
        secret: true,
        required: true,
    }
}

const fn optional_secret(name: &'static str) -> Field {
    Field {
        name,
        secret: true,
        required: false,
    }
}

const fn setting(name: &'static str, required: bool) -> Field {
    Field {
        name,
        secret: false,
        required,
    }
}

/// A provider in the catalogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Provider {
    /// Its slug (`mpesa`, `stripe`, ...).
    pub slug: &'static str,
    /// Display name.
    pub name: &'static str,
    /// What it does.
    pub category: Category,
    /// Its configuration fields.
    pub fields: &'static [Field],
    /// Base URL of its sandbox / test environment.
    pub sandbox_base_url: Option<&'static str>,
    /// Base URL in production.
    pub production_base_url: Option<&'static str>,
    /// ISO 4217 currencies it takes (payments), empty if any or n/a.
    pub currencies: &'static [&'static str],
    /// ISO 3166 countries it serves, empty if any.
    pub countries: &'static [&'static str],
    /// Whether it calls us back by webhook.
    pub webhooks: bool,
    /// Whether the admin registers its callback URL in the provider's own
    /// dashboard (Africa's Talking's delivery reports) rather than ifinsure
    /// sending it with each request: the admin is then shown the URL
    /// whole, the configuration's callback token included.
    pub registered_callback: bool,
    /// Whether this build has an adapter for it (S3 and GCS only when built
    /// with the `s3` / `gcs` features); the others are not offered.
    pub adapter: bool,
}

/// Every provider ifinsure knows.
pub const PROVIDERS: &[Provider] = &[
    Provider {
        slug: "sandbox",
        name: "Built-in sandbox (no network)",
        category: Category::Payment,
        fields: &[],
        sandbox_base_url: None,
        production_base_url: None,
        currencies: &[],
        countries: &[],
        webhooks: true,
        registered_callback: false,
        adapter: true,
    },
    Provider {
        slug: "mpesa",
        name: "Safaricom M-Pesa (Daraja)",
        category: Category::Payment,
        fields: &[
            secret("consumer_key"),
            secret("consumer_secret"),
            setting("shortcode", true),
            secret("passkey"),
            setting("initiator_name", false),
            optional_secret("initiator_password"),
            optional_secret("security_credential"),
            optional_secret("callback_token"),
            setting("transaction_type", false),
            setting("till_number", false),
            setting("b2c_version", false),
            setting("certificate", false),
        ],
        sandbox_base_url: Some("https://sandbox.safaricom.co.ke"),
        production_base_url: Some("https://api.safaricom.co.ke"),
        currencies: &["KES"],
        countries: &["KE"],
        webhooks: true,
        registered_callback: false,
        adapter: true,
    },
    Provider {
        slug: "stripe",
        name: "Stripe",
        category: Category::Payment,
        fields: &[
            secret("secret_key"),
            secret("webhook_secret"),
            setting("return_url", false),
        ],
        sandbox_base_url: Some("https://api.stripe.com"),
        production_base_url: Some("https://api.stripe.com"),
        currencies: &[],
        countries: &[],
        webhooks: true,
        registered_callback: false,
        adapter: true,
    },
    Provider {
        slug: "paystack",
        name: "Paystack",
        category: Category::Payment,
        fields: &[secret("secret_key"), setting("callback_url", false)],
        sandbox_base_url: Some("https://api.paystack.co"),
        production_base_url: Some("https://api.paystack.co"),
        currencies: &["NGN", "GHS", "ZAR", "KES", "USD"],
        countries: &["NG", "GH", "ZA", "KE"],
        webhooks: true,
        registered_callback: false,
        adapter: true,
    },
    Provider {
        slug: "flutterwave",
        name: "Flutterwave",
        category: Category::Payment,
        fields: &[
            secret("secret_key"),
            secret("secret_hash"),
            setting("redirect_url", false),
        ],
        sandbox_base_url: Some("https://api.flutterwave.com"),
        production_base_url: Some("https://api.flutterwave.com"),
        currencies: &[],
        countries: &[],
        webhooks: true,
        registered_callback: false,
        adapter: true,
    },
    Provider {
        slug: "africastalking",
        name: "Africa's Talking SMS",
        category: Category::Sms,
        fields: &[
            setting("username", true),
            secret("api_key"),
            setting("from", false),
            optional_secret("callback_token"),
        ],
        sandbox_base_url: Some("https://api.sandbox.africastalking.com"),
        production_base_url: Some("https://api.africastalking.com"),
        currencies: &[],
        countries: &[],
        webhooks: true,
        registered_callback: true,
        adapter: true,
    },
    Provider {
        slug: "twilio",
        name: "Twilio Messaging",
        category: Category::Sms,
        fields: &[
            setting("account_sid", true),
            secret("auth_token"),
            setting("from", true),
        ],
        sandbox_base_url: Some("https://api.twilio.com"),
        production_base_url: Some("https://api.twilio.com"),
        currencies: &[],
        countries: &[],
        webhooks: true,
        registered_callback: false,
        adapter: true,
    },
    Provider {
        slug: "smtp",
        name: "SMTP",
        category: Category::Email,
        fields: &[
            setting("host", true),
            setting("port", false),
            setting("username", false),
            optional_secret("password"),
            setting("from", true),
            setting("tls", false),
        ],
        sandbox_base_url: None,
        production_base_url: None,
        currencies: &[],
        countries: &[],
        webhooks: false,
        registered_callback: false,
        adapter: true,
    },
    Provider {
        slug: "sendgrid",
        name: "SendGrid",
        category: Category::Email,
        fields: &[
            secret("api_key"),
            setting("from", true),
            setting("webhook_verification_key", false),
        ],
        sandbox_base_url: Some("https://api.sendgrid.com"),
        production_base_url: Some("https://api.sendgrid.com"),
        currencies: &[],
        countries: &[],
        webhooks: true,
        registered_callback: false,
        adapter: true,
    },
    Provider {
        slug: "local",
        name: "Local directory",
        category: Category::Storage,
        fields: &[setting("path", true)],
        sandbox_base_url: None,
        production_base_url: None,
        currencies: &[],
        countries: &[],
        webhooks: false,
        registered_callback: false,
        adapter: true,
    },
    Provider {
        slug: "s3",
        name: "Amazon S3 (or compatible)",
        category: Category::Storage,
        fields: &[
            setting("bucket", true),
            setting("region", false),
            setting("access_key_id", false),
            optional_secret("secret_access_key"),
        ],
        sandbox_base_url: None,
        production_base_url: None,
        currencies: &[],
        countries: &[],
        webhooks: false,
        registered_callback: false,
        adapter: cfg!(feature = "s3"),
    },
    Provider {
        slug: "gcs",
        name: "Google Cloud Storage",
        category: Category::Storage,
        fields: &[
            setting("bucket", true),
            optional_secret("service_account_key"),
        ],
        sandbox_base_url: None,
        production_base_url: None,
        currencies: &[],
        countries: &[],
        webhooks: false,
        registered_callback: false,
        adapter: cfg!(feature = "gcs"),
    },
];

/// What a payment provider needs to know of the payer to take a payment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PayerContact {
    /// Nothing (the sandbox).
    Nothing,
    /// The paying mobile number: the provider prompts that phone (M-Pesa).
    Phone,
    /// An email address (Paystack's checkout is opened for it).
    Email,
    /// An email address for the receipt if given; the provider's hosted
    /// page asks for the rest (Stripe).
    OptionalEmail,
    /// A Kenyan mobile number (an M-Pesa charge in KES) or an email address
    /// (the hosted checkout): Flutterwave.
    PhoneOrEmail,
}

impl Provider {
    /// What the provider needs to know of the payer (payment providers).
    pub fn payer_contact(&self) -> PayerContact {
        match self.slug {
            "mpesa" => PayerContact::Phone,
            "paystack" => PayerContact::Email,
            "stripe" => PayerContact::OptionalEmail,
            "flutterwave" => PayerContact::PhoneOrEmail,
            _ => PayerContact::Nothing,
        }
    }
}

/// The provider called `slug`.
pub fn provider(slug: &str) -> Option<&'static Provider> {
    PROVIDERS.iter().find(|p| p.slug == slug)
}

/// The key prefixes providers put on their secrets, which say what kind of
/// key it is without revealing any of it (longest first where one starts
/// another).
const KNOWN_PREFIXES: [&str; 12] = [
    "FLWSECK_TEST-",
    "FLWPUBK_TEST-",
    "FLWSECK-",
    "FLWPUBK-",
    "sk_live_",
    "sk_test_",
    "rk_live_",
    "rk_test_",
    "pk_live_",
    "pk_test_",
    "whsec_",
    "atsk_",
];

/// The shortest secret whose known prefix is shown beside its last four.
const SHOW_PREFIX_FROM: usize = 24;

/// `sk_live_…4242`: enough of a secret to recognise it, never enough to use
/// it. Only a known provider prefix (`sk_live_`, `whsec_`, `FLWSECK-`, ...)
/// and the last four characters are shown; under 24 characters, only the
/// last four; under 12, nothing.
pub fn mask(secret: &str) -> String {
    let chars: Vec<char> = secret.chars().collect();
    if chars.len() < 12 {
        return "••••".to_string();
    }
    let suffix: String = chars[chars.len() - 4..].iter().collect();
    let prefix = KNOWN_PREFIXES
        .iter()
        .find(|p| secret.starts_with(*p))
        .filter(|_| chars.len() >= SHOW_PREFIX_FROM)
        .map_or("", |p| *p);
    format!("{prefix}…{suffix}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_slug_is_unique_and_found() {
        for p in PROVIDERS {
            assert_eq!(provider(p.slug), Some(p));
        }
        assert_eq!(provider("paypal"), None);
    }

    #[test]
    fn masks_keep_only_a_known_prefix_and_the_last_four() {
        assert_eq!(mask("sk_live_51HqXyZabcdef4242"), "sk_live_…4242");
        assert_eq!(mask("whsec_test_verysecret_9876"), "whsec_…9876");
        assert_eq!(
            mask("FLWSECK_TEST-0123456789abcdef0123456789abcdef-X"),
            "FLWSECK_TEST-…ef-X"
        );
        assert_eq!(mask("short"), "••••");
        assert_eq!(mask("a-very-long-consumer-secret-9876"), "…9876");
        // An unknown prefix is part of the secret: not shown.
        assert_eq!(mask("mysecr_hash1"), "…ash1");
        assert_eq!(mask("custom_prefix_value_0123456789"), "…6789");
        // A short secret shows its last four only, whatever it starts with.
        assert_eq!(mask("sk_live_abcd1234"), "…1234");
    }
}
