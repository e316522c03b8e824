//! Table names of a projection: live (`products`) or shadow
//! (`products__rebuild`) while a rebuild runs.

use std::collections::HashMap;

/// The actual names of a projection's tables.
#[derive(Debug, Clone)]
pub struct Tables {
    names: HashMap<&'static str, String>,
}

/// Suffix of shadow tables.
pub const SHADOW_SUFFIX: &str = "__rebuild";

impl Tables {
    /// The live tables.
    pub fn live(bases: &[&'static str]) -> Self {
        Self {
            names: bases.iter().map(|b| (*b, (*b).to_string())).collect(),
        }
    }

    /// The shadow tables a rebuild fills.
    pub fn shadow(bases: &[&'static str]) -> Self {
        Self {
            names: bases
                .iter()
                .map(|b| (*b, format!("{b}{SHADOW_SUFFIX}")))
                .collect(),
        }
    }

    /// The actual name of base table `base`.
    ///
    /// # Panics
    /// When `base` is not one of the projection's tables (a programming error).
    pub fn get(&self, base: &str) -> &str {
        self.names
            .get(base)
            .unwrap_or_else(|| panic!("`{base}` is not a table of this projection"))
    }
}

/// Runs `statements` (the DDL of `table` and its indexes) unless `table`
/// exists already.
///
/// # Errors
/// When the database fails.
pub async fn create_once(
    conn: &mut sqlx::PgConnection,
    table: &str,
    statements: &[String],
) -> Result<(), sqlx::Error> {
    let exists: bool = sqlx::query_scalar("SELECT to_regclass($1) IS NOT NULL")
        .bind(table)
        .fetch_one(&mut *conn)
        .await?;
    if exists {
        return Ok(());
    }
    for statement in statements {
        sqlx::query(statement).execute(&mut *conn).await?;
    }
    Ok(())
}

/// Adds `column` (`definition`) to `table` unless it has it: tables created
/// before the column was. Checked first, so an up-to-date table is not
/// locked at every start.
///
/// # Errors
/// When the database fails.
pub async fn add_column_once(
    conn: &mut sqlx::PgConnection,
    table: &str,
    column: &str,
    definition: &str,
) -> Result<(), sqlx::Error> {
    let exists: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM information_schema.columns
                        WHERE table_schema = current_schema() AND table_name = $1 AND column_name = $2)",
    )
    .bind(table)
    .bind(column)
    .fetch_one(&mut *conn)
    .await?;
    if !exists {
        sqlx::query(&format!(
            "ALTER TABLE {table} ADD COLUMN {column} {definition}"
        ))
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Adds a b-tree index on `columns` (`"status, id"`) to `table` unless it
/// has one: tables created before the index was. Checked first, so an
/// up-to-date table is not locked at every start; a table renamed from a
/// rebuild's shadow keeps its indexes under their shadow names, which is
/// why the check is by columns, not by name.
///
/// # Errors
/// When the database fails.
pub async fn add_index_once(
    conn: &mut sqlx::PgConnection,
    table: &str,
    columns: &str,
) -> Result<(), sqlx::Error> {
    let exists: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM pg_indexes
                        WHERE schemaname = current_schema() AND tablename = $1
                          AND indexdef LIKE '%USING btree (' || $2 || ')')",
    )
    .bind(table)
    .bind(columns)
    .fetch_one(&mut *conn)
    .await?;
    if !exists {
        sqlx::query(&format!("CREATE INDEX ON {table} ({columns})"))
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}
