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
    /// What a person calls it (the form's label).
    pub label: &'static str,
    /// Whether it is a credential: encrypted at rest, never shown in clear.
    pub secret: bool,
    /// Whether a configuration needs it.
    pub required: bool,
}

const fn secret(name: &'static str, label: &'static str) -> Field {
    Field {
        name,
        label,
        secret: true,
        required: true,
    }
}

const fn optional_secret(name: &'static str, label: &'static str) -> Field {
    Field {
        name,
        label,
        secret: true,
        required: false,
    }
}

const fn setting(name: &'static str, label: &'static str, required: bool) -> Field {
    Field {
        name,
        label,
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
    /// What it does for ifinsure, in a sentence.
    pub summary: &'static str,
    /// Its API documentation.
    pub docs_url: Option<&'static str>,
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
        summary: "Settles premiums, refunds and payouts at once without moving money: for trying the whole lifecycle offline (never in production).",
        docs_url: None,
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
        summary: "Safaricom M-Pesa Daraja: STK push prompts the customer's phone to pay a premium; B2C pays refunds and claims out to a phone.",
        docs_url: Some("https://developer.safaricom.co.ke/APIs"),
        category: Category::Payment,
        fields: &[
            secret("consumer_key", "Consumer key"),
            secret("consumer_secret", "Consumer secret"),
            setting("shortcode", "Shortcode", true),
            secret("passkey", "Passkey"),
            setting("initiator_name", "Initiator name", false),
            optional_secret("initiator_password", "Initiator password"),
            optional_secret("security_credential", "Security credential"),
            optional_secret("callback_token", "Callback token"),
            setting("transaction_type", "Transaction type", false),
            setting("till_number", "Till number", false),
            setting("b2c_version", "B2C API version", false),
            setting("certificate", "Certificate (PEM)", false),
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
        summary: "Card payments through Stripe's hosted Checkout, refunds, and signed webhooks confirming each payment.",
        docs_url: Some("https://docs.stripe.com/api"),
        category: Category::Payment,
        fields: &[
            secret("secret_key", "Secret key"),
            secret("webhook_secret", "Webhook signing secret"),
            setting("return_url", "Return URL", false),
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
        summary: "Card, bank and mobile money payments through Paystack's checkout across Africa, refunds, and signed webhooks.",
        docs_url: Some("https://paystack.com/docs/api/"),
        category: Category::Payment,
        fields: &[secret("secret_key", "Secret key"), setting("callback_url", "Callback URL", false)],
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
        summary: "Card and mobile money payments (M-Pesa in Kenya) through Flutterwave, refunds and transfers, with verified webhooks.",
        docs_url: Some("https://developer.flutterwave.com/docs"),
        category: Category::Payment,
        fields: &[
            secret("secret_key", "Secret key"),
            secret("secret_hash", "Secret hash"),
            setting("redirect_url", "Redirect URL", false),
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
        summary: "SMS across East Africa through Africa's Talking, with delivery reports.",
        docs_url: Some("https://developers.africastalking.com/docs/sms/overview"),
        category: Category::Sms,
        fields: &[
            setting("username", "Username", true),
            secret("api_key", "API key"),
            setting("from", "Sender ID", false),
            optional_secret("callback_token", "Callback token"),
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
        summary: "SMS worldwide through Twilio's Messaging API, with delivery status callbacks.",
        docs_url: Some("https://www.twilio.com/docs/messaging/api"),
        category: Category::Sms,
        fields: &[
            setting("account_sid", "Account SID", true),
            secret("auth_token", "Auth token"),
            setting("from", "From number", true),
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
        summary: "Email through any SMTP server (STARTTLS or TLS).",
        docs_url: Some("https://www.rfc-editor.org/rfc/rfc5321"),
        category: Category::Email,
        fields: &[
            setting("host", "Host", true),
            setting("port", "Port", false),
            setting("username", "Username", false),
            optional_secret("password", "Password"),
            setting("from", "From address", true),
            setting("tls", "TLS mode", false),
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
        summary: "Email through SendGrid's v3 Mail Send API, with signed event webhooks.",
        docs_url: Some("https://www.twilio.com/docs/sendgrid/api-reference/mail-send/mail-send"),
        category: Category::Email,
        fields: &[
            secret("api_key", "API key"),
            setting("from", "From address", true),
            setting("webhook_verification_key", "Event webhook verification key", false),
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
        summary: "Claim documents and generated PDFs in a directory on this machine.",
        docs_url: None,
        category: Category::Storage,
        fields: &[setting("path", "Directory", true)],
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
        summary: "Claim documents and generated PDFs in an Amazon S3 (or S3-compatible) bucket.",
        docs_url: Some("https://docs.aws.amazon.com/AmazonS3/latest/API/Welcome.html"),
        category: Category::Storage,
        fields: &[
            setting("bucket", "Bucket", true),
            setting("region", "Region", false),
            setting("access_key_id", "Access key ID", false),
            optional_secret("secret_access_key", "Secret access key"),
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
        summary: "Claim documents and generated PDFs in a Google Cloud Storage bucket.",
        docs_url: Some("https://cloud.google.com/storage/docs/json_api"),
        category: Category::Storage,
        fields: &[
            setting("bucket", "Bucket", true),
            optional_secret("service_account_key", "Service account key (JSON)"),
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
