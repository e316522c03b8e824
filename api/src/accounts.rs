//! Opening accounts: shared by self-registration, admin-created users, the
//! `users create` CLI and demo seeding.

use domain::user::{Registration, User, UserCommand, UserError};
use domain::{EmailAddress, PhoneNumber, Role, UserId, ValidationErrors};
use projections::{CommandMetadata, Committed, EventStore};
use sqlx::PgPool;
use uuid::Uuid;

use crate::auth::{credentials, passwords};
use crate::error::ApiError;

/// A requested account, as sent.
#[derive(Debug, Clone)]
pub struct NewAccount {
    /// Email.
    pub email: String,
    /// Password in clear (never logged).
    pub password: String,
    /// Name.
    pub full_name: String,
    /// Phone, optional.
    pub phone_number: Option<String>,
    /// Role.
    pub role: Role,
}

impl std::fmt::Display for NewAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.email, self.role)
    }
}

/// A credential row older than this without a `User` aggregate is the
/// remnant of a registration that crashed half-way, and is reclaimed.
const ORPHAN_AFTER_SECS: i64 = 60;

/// Validates, hashes the password, reserves the email, and registers the user.
///
/// # Errors
/// `422` for invalid fields or a weak password, `409 email_taken`, `500`.
pub async fn open_account(
    pool: &PgPool,
    store: &EventStore,
    account: NewAccount,
    metadata: &CommandMetadata,
) -> Result<(Uuid, Committed<User>), ApiError> {
    let min_length = projections::live_settings::password_min_length(store)
        .await
        .map_err(ApiError::Internal)?;
    let registration = parse(&account, min_length)?;
    let password = account.password.clone();
    let hash = tokio::task::spawn_blocking(move || passwords::hash(&password))
        .await
        .map_err(|e| ApiError::Internal(e.into()))?
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("hashing failed: {e}")))?;
    let user_id = UserId::new();
    reserve_email(pool, store, user_id.0, registration.email.as_str(), &hash).await?;
    match store
        .execute_new::<User>(
            &user_id.to_string(),
            UserCommand::Register(registration),
            metadata,
        )
        .await
    {
        Ok(committed) => Ok((user_id.0, committed)),
        Err(error) => {
            credentials::delete(pool, user_id.0).await?;
            Err(error.into())
        }
    }
}

fn parse(account: &NewAccount, min_length: u32) -> Result<Registration, ApiError> {
    let mut errors = ValidationErrors::new();
    let email = EmailAddress::parse(&account.email)
        .map_err(|m| errors.add("email", m))
        .ok();
    let phone_number = match account.phone_number.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(raw) => PhoneNumber::parse(raw)
            .map_err(|m| errors.add("phone_number", m))
            .ok(),
    };
    if let Err(message) = passwords::check_policy(&account.password, &account.email, min_length) {
        errors.add("password", message);
    }
    let full_name = account.full_name.trim();
    errors.check(
        !full_name.is_empty() && full_name.chars().count() <= 200,
        "full_name",
        "must be 1 to 200 characters",
    );
    errors.into_result().map_err(ApiError::Validation)?;
    Ok(Registration {
        email: email.expect("checked above"),
        full_name: full_name.to_string(),
        phone_number,
        role: account.role,
    })
}

async fn reserve_email(
    pool: &PgPool,
    store: &EventStore,
    user_id: Uuid,
    email: &str,
    hash: &str,
) -> Result<(), ApiError> {
    if credentials::insert(pool, user_id, email, hash).await? {
        return Ok(());
    }
    let existing = credentials::by_email(pool, email).await?;
    if let Some(existing) = existing {
        let age = chrono::Utc::now() - existing.created_at;
        let registered = !store
            .events_of("User", &existing.user_id.to_string())
            .await?
            .is_empty();
        if !registered && age.num_seconds() > ORPHAN_AFTER_SECS {
            tracing::warn!(user_id = %existing.user_id, "reclaiming an email from an unfinished registration");
            credentials::delete(pool, existing.user_id).await?;
            if credentials::insert(pool, user_id, email, hash).await? {
                return Ok(());
            }
        }
    }
    Err(ApiError::Conflict {
        code: "email_taken",
        detail: "an account with this email already exists".into(),
    })
}

impl From<UserError> for ApiError {
    fn from(error: UserError) -> Self {
        match error {
            UserError::Validation(errors) => ApiError::Validation(errors),
            UserError::NotFound => ApiError::NotFound,
            UserError::AlreadyRegistered => ApiError::Conflict {
                code: "already_registered",
                detail: error.to_string(),
            },
            UserError::NotACustomer => ApiError::Conflict {
                code: "not_a_customer",
                detail: error.to_string(),
            },
            UserError::NotAnAgent => ApiError::invalid("agent_id", "is not an agent"),
            UserError::ServesCustomers(_) => ApiError::Conflict {
                code: "agent_serves_customers",
                detail: error.to_string(),
            },
            UserError::HoldsPolicies(_) => ApiError::Conflict {
                code: "customer_holds_policies",
                detail: error.to_string(),
            },
        }
    }
}
