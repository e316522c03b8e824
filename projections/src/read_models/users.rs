//! The users read model: profile, role and agent of every account.
//!
//! Its tables are created by this projection (so a rebuild can make shadow
//! copies), not by migrations, so its queries are checked at run time.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::user::UserEvent;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::{Projection, Tables};
use crate::stored_event::StoredEvent;

/// Builds the `users` table.
pub struct UsersProjection;

/// One user as the API shows it.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct UserRow {
    /// Aggregate id.
    pub id: Uuid,
    /// Login address.
    pub email: String,
    /// Name.
    pub full_name: String,
    /// E.164 phone.
    pub phone_number: Option<String>,
    /// Role name.
    pub role: String,
    /// Assigned agent (customers).
    pub agent_id: Option<Uuid>,
    /// May sign in (not deactivated by an admin).
    pub active: bool,
    /// Aggregate version.
    pub version: i64,
    /// Registration time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

#[async_trait]
impl Projection for UsersProjection {
    fn name(&self) -> &'static str {
        "users"
    }

    fn aggregate_types(&self) -> &'static [&'static str] {
        &["User"]
    }

    fn tables(&self) -> &'static [&'static str] {
        &["users"]
    }

    async fn create_tables(&self, conn: &mut PgConnection, tables: &Tables) -> anyhow::Result<()> {
        let t = tables.get("users");
        let statements = [
            format!(
                "CREATE TABLE {t} (
                id           uuid PRIMARY KEY,
                email        text        NOT NULL,
                full_name    text        NOT NULL,
                phone_number text,
                role         text        NOT NULL,
                agent_id     uuid,
                version      bigint      NOT NULL,
                created_at   timestamptz NOT NULL,
                updated_at   timestamptz NOT NULL
            )"
            ),
            format!("CREATE UNIQUE INDEX ON {t} (email)"),
            format!("CREATE INDEX ON {t} (role, id)"),
            format!("CREATE INDEX ON {t} (agent_id)"),
        ];
        super::tables::create_once(conn, t, &statements).await?;
        super::tables::add_column_once(conn, t, "active", "boolean NOT NULL DEFAULT true").await?;
        Ok(())
    }

    async fn apply(
        &self,
        conn: &mut PgConnection,
        tables: &Tables,
        event: &StoredEvent,
    ) -> anyhow::Result<()> {
        if event.aggregate_type != "User" {
            return Ok(());
        }
        let t = tables.get("users");
        let id: Uuid = event.aggregate_id.parse()?;
        let (sql, text, uuid) = match event.decode::<UserEvent>()? {
            UserEvent::UserRegistered {
                email,
                full_name,
                phone_number,
                role,
            } => {
                sqlx::query(&format!(
                    "INSERT INTO {t} (id, email, full_name, phone_number, role, version, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $7)"
                ))
                .bind(id)
                .bind(email.as_str())
                .bind(full_name)
                .bind(phone_number.map(String::from))
                .bind(role.as_str())
                .bind(event.sequence)
                .bind(event.recorded_at)
                .execute(&mut *conn)
                .await?;
                return Ok(());
            }
            UserEvent::RoleChanged { to, .. } => (
                format!("UPDATE {t} SET role = $2, version = $4, updated_at = $5 WHERE id = $1"),
                Some(to.as_str()),
                None,
            ),
            UserEvent::AgentAssigned { agent_id, .. } => (
                format!(
                    "UPDATE {t} SET agent_id = $3, version = $4, updated_at = $5 WHERE id = $1"
                ),
                None,
                Some(agent_id.0),
            ),
            UserEvent::ProfileUpdated {
                full_name,
                phone_number,
            } => {
                sqlx::query(&format!(
                    "UPDATE {t} SET full_name = $2, phone_number = $3, version = $4, updated_at = $5 \
                     WHERE id = $1"
                ))
                .bind(id)
                .bind(full_name)
                .bind(phone_number.map(String::from))
                .bind(event.sequence)
                .bind(event.recorded_at)
                .execute(&mut *conn)
                .await?;
                return Ok(());
            }
            UserEvent::UserDeactivated { .. } => (
                format!(
                    "UPDATE {t} SET active = false, version = $4, updated_at = $5 WHERE id = $1"
                ),
                None,
                None,
            ),
            UserEvent::UserReactivated => (
                format!(
                    "UPDATE {t} SET active = true, version = $4, updated_at = $5 WHERE id = $1"
                ),
                None,
                None,
            ),
            // A reset changes no field shown, only the version.
            UserEvent::PasswordResetRequested { .. }
            | UserEvent::PasswordResetCompleted { .. }
            | UserEvent::PasswordChanged
            | UserEvent::NotificationPreferencesSet { .. } => (
                format!("UPDATE {t} SET version = $4, updated_at = $5 WHERE id = $1"),
                None,
                None,
            ),
        };
        sqlx::query(&sql)
            .bind(id)
            .bind(text)
            .bind(uuid)
            .bind(event.sequence)
            .bind(event.recorded_at)
            .execute(&mut *conn)
            .await?;
        Ok(())
    }
}

/// One user by id.
///
/// # Errors
/// When the database fails.
pub async fn get(pool: &PgPool, id: Uuid) -> Result<Option<UserRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, email, full_name, phone_number, role, agent_id, active, version, created_at, updated_at FROM users WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(pool)
    .await
}

/// Up to `limit` users after `after`, optionally of one role.
///
/// # Errors
/// When the database fails.
pub async fn list(
    pool: &PgPool,
    role: Option<&str>,
    after: Option<Uuid>,
    limit: i64,
) -> Result<Vec<UserRow>, sqlx::Error> {
    sqlx::query_as(
        r#"SELECT id, email, full_name, phone_number, role, agent_id, active, version, created_at, updated_at FROM users
           WHERE ($1::text IS NULL OR role = $1) AND ($2::uuid IS NULL OR id > $2)
           ORDER BY id LIMIT $3"#,
    )
    .bind(role)
    .bind(after)
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// How many customers agent `agent_id` serves.
///
/// # Errors
/// When the database fails.
pub async fn customers_served(pool: &PgPool, agent_id: Uuid) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT count(*) FROM users WHERE agent_id = $1")
        .bind(agent_id)
        .fetch_one(pool)
        .await
}

/// Users by role: how many there are, and how many signed in within the
/// last `days` days (a refresh token issued).
///
/// # Errors
/// When the database fails.
pub async fn activity_by_role(
    pool: &PgPool,
    days: i32,
) -> Result<Vec<(String, i64, i64)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT u.role, count(*),
                count(*) FILTER (WHERE EXISTS (
                    SELECT 1 FROM refresh_tokens t
                    WHERE t.user_id = u.id AND t.issued_at > now() - make_interval(days => $1)))
         FROM users u GROUP BY u.role ORDER BY u.role",
    )
    .bind(days)
    .fetch_all(pool)
    .await
}

/// Up to `limit` customers after `after` (by id): all of them, or those
/// assigned to agent `agent_id`; with `search`, those whose name, email or
/// phone contains it.
///
/// # Errors
/// When the database fails.
pub async fn customers(
    pool: &PgPool,
    agent_id: Option<Uuid>,
    search: Option<&str>,
    after: Option<Uuid>,
    limit: i64,
) -> Result<Vec<UserRow>, sqlx::Error> {
    let pattern = search.map(|s| {
        format!(
            "%{}%",
            s.replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_")
        )
    });
    sqlx::query_as(
        r#"SELECT id, email, full_name, phone_number, role, agent_id, active, version, created_at, updated_at FROM users
           WHERE role = 'customer'
             AND ($1::uuid IS NULL OR agent_id = $1)
             AND ($2::text IS NULL OR full_name ILIKE $2 OR email ILIKE $2 OR coalesce(phone_number, '') ILIKE $2)
             AND ($3::uuid IS NULL OR id > $3)
           ORDER BY id LIMIT $4"#,
    )
    .bind(agent_id)
    .bind(pattern)
    .bind(after)
    .bind(limit)
    .fetch_all(pool)
    .await
}
