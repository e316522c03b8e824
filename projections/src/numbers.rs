//! Human document numbers: `POL-2026-000123`, `INV-2026-000045`.
//!
//! Each kind counts per year. A document keeps the number it was first given:
//! asking again for the same owner returns it, so a retried command does not
//! burn a second number. Numbers are unique; a number may be skipped when two
//! requests for one owner race, never given twice.

use sqlx::PgPool;
use uuid::Uuid;

/// What is numbered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocumentKind {
    /// `POL-YYYY-NNNNNN`.
    Policy,
    /// `INV-YYYY-NNNNNN`.
    Invoice,
    /// `CLM-YYYY-NNNNNN`.
    Claim,
}

impl DocumentKind {
    fn prefix(self) -> &'static str {
        match self {
            DocumentKind::Policy => "POL",
            DocumentKind::Invoice => "INV",
            DocumentKind::Claim => "CLM",
        }
    }
}

/// The number of `owner` (a document id) of `kind`, assigning the next one of
/// `year` if it has none.
///
/// # Errors
/// When the database fails.
pub async fn assign(
    pool: &PgPool,
    kind: DocumentKind,
    year: i32,
    owner: Uuid,
) -> Result<String, sqlx::Error> {
    let prefix = kind.prefix();
    if let Some(number) = sqlx::query_scalar!(
        "SELECT number FROM document_numbers WHERE kind = $1 AND owner_id = $2",
        prefix,
        owner
    )
    .fetch_optional(pool)
    .await?
    {
        return Ok(number);
    }
    let mut tx = pool.begin().await?;
    let next = sqlx::query_scalar!(
        r#"INSERT INTO document_number_counters (kind, year, last_value) VALUES ($1, $2, 1)
           ON CONFLICT (kind, year) DO UPDATE SET last_value = document_number_counters.last_value + 1
           RETURNING last_value"#,
        prefix,
        year
    )
    .fetch_one(&mut *tx)
    .await?;
    let number = format!("{prefix}-{year}-{next:06}");
    sqlx::query!(
        "INSERT INTO document_numbers (kind, owner_id, number) VALUES ($1, $2, $3) ON CONFLICT (kind, owner_id) DO NOTHING",
        prefix,
        owner,
        number
    )
    .execute(&mut *tx)
    .await?;
    let assigned = sqlx::query_scalar!(
        "SELECT number FROM document_numbers WHERE kind = $1 AND owner_id = $2",
        prefix,
        owner
    )
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(assigned)
}
