//! Demo data: a realistic East African catalogue and one user of each role,
//! created through the same commands the API uses, then a book of business
//! ([`book`]). Running it twice adds nothing the second time.

pub mod book;

use domain::product::{Line, NewProduct};
use domain::{Currency, Money, Role};
use projections::{CommandMetadata, EventStore};
use rust_decimal::Decimal;
use sqlx::PgPool;

use api::accounts::{open_account, NewAccount};
use api::products::define_product;
use api::ApiError;

/// The password of every demo user.
pub const DEMO_PASSWORD: &str = "ifinsure-demo-2026";

/// The demo logins: (email, full name, phone, role).
pub const DEMO_USERS: &[(&str, &str, &str, Role)] = &[
    (
        "admin@example.com",
        "Achieng Odhiambo",
        "+254700000001",
        Role::Admin,
    ),
    (
        "staff@example.com",
        "Baraka Mwangi",
        "+254700000002",
        Role::Staff,
    ),
    (
        "agent@example.com",
        "Chebet Kiprono",
        "+254700000003",
        Role::Agent,
    ),
    (
        "customer@example.com",
        "Wanjiru Kamau",
        "+254712345678",
        Role::Customer,
    ),
    (
        "auditor@example.com",
        "Daudi Otieno",
        "+254700000005",
        Role::Auditor,
    ),
];

struct DemoProduct {
    code: &'static str,
    name: &'static str,
    line: Line,
    description: &'static str,
    currency: &'static str,
    rate: &'static str,
    minimum_premium: &'static str,
    sum_insured: (&'static str, &'static str),
    term_months: u32,
    /// The agents' commission on premium paid.
    commission_rate: &'static str,
}

const DEMO_PRODUCTS: &[DemoProduct] = &[
    DemoProduct {
        code: "MOTOR-PVT-COMP",
        name: "Motor Private Comprehensive",
        line: Line::Motor,
        description: "Own damage, theft, fire and third-party cover for private cars.",
        currency: "KES",
        rate: "0.04",
        minimum_premium: "15000",
        sum_insured: ("300000", "15000000"),
        term_months: 12,
        commission_rate: "0.10",
    },
    DemoProduct {
        code: "MOTOR-TPO",
        name: "Motor Third Party Only",
        line: Line::Motor,
        description: "The legal minimum: liability to third parties.",
        currency: "KES",
        rate: "0.005",
        minimum_premium: "7500",
        sum_insured: ("100000", "5000000"),
        term_months: 12,
        commission_rate: "0.075",
    },
    DemoProduct {
        code: "HEALTH-FAMILY",
        name: "Family Medical Cover",
        line: Line::Health,
        description: "Inpatient and outpatient cover for up to six family members.",
        currency: "KES",
        rate: "0.05",
        minimum_premium: "25000",
        sum_insured: ("500000", "10000000"),
        term_months: 12,
        commission_rate: "0.05",
    },
    DemoProduct {
        code: "LIFE-TERM-10",
        name: "Term Life, 10 years",
        line: Line::Life,
        description: "A lump sum to your family if you die within the term.",
        currency: "KES",
        rate: "0.006",
        minimum_premium: "6000",
        sum_insured: ("1000000", "50000000"),
        term_months: 120,
        commission_rate: "0.15",
    },
    DemoProduct {
        code: "HOME-BUILDINGS",
        name: "Home Buildings and Contents",
        line: Line::Property,
        description: "Fire, flood, burglary and accidental damage to your home.",
        currency: "KES",
        rate: "0.0025",
        minimum_premium: "5000",
        sum_insured: ("1000000", "100000000"),
        term_months: 12,
        commission_rate: "0.08",
    },
    DemoProduct {
        code: "BODA-TPO-UG",
        name: "Boda Boda Third Party (Uganda)",
        line: Line::Motor,
        description: "Third-party cover for commercial motorcycles.",
        currency: "UGX",
        rate: "0.02",
        minimum_premium: "50000",
        sum_insured: ("2000000", "20000000"),
        term_months: 12,
        commission_rate: "0.075",
    },
    DemoProduct {
        code: "TRAVEL-WORLD",
        name: "Worldwide Travel",
        line: Line::Travel,
        description: "Medical emergencies, lost baggage and cancellation abroad.",
        currency: "USD",
        rate: "0.012",
        minimum_premium: "25",
        sum_insured: ("10000", "500000"),
        term_months: 1,
        commission_rate: "0.12",
    },
];

fn money(amount: &str, currency: Currency) -> anyhow::Result<Money> {
    Ok(Money::new(amount.parse::<Decimal>()?, currency)?)
}

/// Creates the demo users and products that are missing.
///
/// # Errors
/// When a command fails for another reason than already existing.
pub async fn seed(pool: &PgPool, store: &EventStore) -> anyhow::Result<()> {
    let metadata = CommandMetadata::system("demo-seed");
    for (email, full_name, phone, role) in DEMO_USERS {
        let account = NewAccount {
            email: (*email).to_string(),
            password: DEMO_PASSWORD.to_string(),
            full_name: (*full_name).to_string(),
            phone_number: Some((*phone).to_string()),
            role: *role,
        };
        match open_account(pool, store, account, &metadata).await {
            Ok(_)
            | Err(ApiError::Conflict {
                code: "email_taken",
                ..
            }) => {}
            Err(error) => anyhow::bail!("seeding {email}: {error}"),
        }
    }
    for demo in DEMO_PRODUCTS {
        let currency = Currency::parse(demo.currency).map_err(anyhow::Error::msg)?;
        let new = NewProduct {
            code: demo.code.to_string(),
            name: demo.name.to_string(),
            line: demo.line,
            description: demo.description.to_string(),
            currency,
            rate: demo.rate.parse()?,
            minimum_premium: money(demo.minimum_premium, currency)?,
            sum_insured_min: money(demo.sum_insured.0, currency)?,
            sum_insured_max: money(demo.sum_insured.1, currency)?,
            term_months: demo.term_months,
            commission_rate: demo.commission_rate.parse()?,
        };
        match define_product(store, new, &metadata).await {
            Ok(_)
            | Err(ApiError::Conflict {
                code: "code_taken", ..
            }) => {}
            Err(error) => anyhow::bail!("seeding {}: {error}", demo.code),
        }
    }
    Ok(())
}
