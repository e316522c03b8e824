//! Applications and policies: one row per `Policy` aggregate, its state, and
//! the columns lists are filtered on. An application is a policy row of any
//! status; a policy is one that was approved (it has a number).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use async_trait::async_trait;
use chrono::NaiveDate;
use domain::policy::Policy;
use domain::reports::{premiums, GroupBy, PremiumRow};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::aggregate_state::{evolve, get_scoped, StateRow, STATE_COLUMNS as COLUMNS};
use super::scope::{scoped, Scope};
use super::{Projection, Tables};
use crate::stored_event::StoredEvent;

/// Builds the `policies` table.
pub struct PoliciesProjection;

/// One policy (or application) as stored.
pub type PolicyRow = StateRow<Policy>;

/// Filters of the policy and application lists.
#[derive(Debug, Clone, Default)]
pub struct PolicyFilter {
    /// Only issued policies (approved or later), not bare applications.
    pub issued_only: bool,
    /// Only this status.
    pub status: Option<String>,
    /// Only this customer's.
    pub customer_id: Option<Uuid>,
    /// Only this product's.
    pub product_id: Option<Uuid>,
}

#[async_trait]
impl Projection for PoliciesProjection {
    fn name(&self) -> &'static str {
        "policies"
    }

    fn aggregate_types(&self) -> &'static [&'static str] {
        &["Policy"]
    }

    fn tables(&self) -> &'static [&'static str] {
        &["policies"]
    }

    async fn create_tables(&self, conn: &mut PgConnection, tables: &Tables) -> anyhow::Result<()> {
        let t = tables.get("policies");
        let statements = [
            format!(
                "CREATE TABLE {t} (
                id            uuid PRIMARY KEY,
                status        text        NOT NULL,
                policy_number text,
                product_id    uuid        NOT NULL,
                customer_id   uuid        NOT NULL,
                start_date    date        NOT NULL,
                end_date      date        NOT NULL,
                state         jsonb       NOT NULL,
                version       bigint      NOT NULL,
                created_at    timestamptz NOT NULL,
                updated_at    timestamptz NOT NULL
            )"
            ),
            format!("CREATE UNIQUE INDEX ON {t} (policy_number)"),
            format!("CREATE INDEX ON {t} (customer_id, id)"),
            format!("CREATE INDEX ON {t} (status, end_date)"),
        ];
        super::tables::create_once(conn, t, &statements).await?;
        // Lists filtered by status, in id order (the applications waiting).
        super::tables::add_index_once(conn, t, "status, id").await?;
        Ok(())
    }

    async fn apply(
        &self,
        conn: &mut PgConnection,
        tables: &Tables,
        event: &StoredEvent,
    ) -> anyhow::Result<()> {
        if event.aggregate_type != "Policy" {
            return Ok(());
        }
        let t = tables.get("policies");
        let id: Uuid = event.aggregate_id.parse()?;
        let (policy, _): (Policy, _) = evolve(conn, t, id, event).await?;
        let Some(application) = &policy.application else {
            return Ok(());
        };
        let (start, end) = policy
            .current_term()
            .map_or((application.start_date, application.end_date), |t| {
                (t.start_date, t.end_date)
            });
        sqlx::query(&format!(
            "INSERT INTO {t} (id, status, policy_number, product_id, customer_id, start_date, end_date, state, version, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)
             ON CONFLICT (id) DO UPDATE SET status = $2, policy_number = $3, start_date = $6, end_date = $7,
                 state = $8, version = $9, updated_at = $10"
        ))
        .bind(id)
        .bind(policy.status.as_str())
        .bind(&policy.policy_number)
        .bind(application.product_id.0)
        .bind(application.customer_id.0)
        .bind(start)
        .bind(end)
        .bind(sqlx::types::Json(&policy))
        .bind(event.sequence)
        .bind(event.recorded_at)
        .execute(&mut *conn)
        .await?;
        Ok(())
    }
}

/// One policy by id, if `scope` may see it.
///
/// # Errors
/// When the database fails.
pub async fn get(pool: &PgPool, id: Uuid, scope: Scope) -> Result<Option<PolicyRow>, sqlx::Error> {
    get_scoped(pool, "policies", id, scope).await
}

/// Up to `limit` policies after `after` that `scope` may see.
///
/// # Errors
/// When the database fails.
pub async fn list(
    pool: &PgPool,
    scope: Scope,
    filter: &PolicyFilter,
    after: Option<Uuid>,
    limit: i64,
) -> Result<Vec<PolicyRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM policies
         WHERE {}
           AND (NOT $3 OR policy_number IS NOT NULL)
           AND ($4::text IS NULL OR status = $4)
           AND ($5::uuid IS NULL OR customer_id = $5)
           AND ($6::uuid IS NULL OR product_id = $6)
           AND ($7::uuid IS NULL OR id > $7)
         ORDER BY id LIMIT $8",
        scoped(1, 2)
    ))
    .bind(scope.customer())
    .bind(scope.agent())
    .bind(filter.issued_only)
    .bind(&filter.status)
    .bind(filter.customer_id)
    .bind(filter.product_id)
    .bind(after)
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// How many applications and policies customer `customer_id` holds,
/// whatever their status.
///
/// # Errors
/// When the database fails.
pub async fn count_held_by(pool: &PgPool, customer_id: Uuid) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT count(*) FROM policies WHERE customer_id = $1")
        .bind(customer_id)
        .fetch_one(pool)
        .await
}

/// Ids of policies in `status` whose current term ends before `date` (the
/// scheduler's work lists), oldest first.
///
/// # Errors
/// When the database fails.
pub async fn ids_ending_before(
    pool: &PgPool,
    status: &str,
    date: NaiveDate,
    limit: i64,
) -> Result<Vec<Uuid>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT id FROM policies WHERE status = $1 AND end_date < $2 ORDER BY end_date, id LIMIT $3",
    )
    .bind(status)
    .bind(date)
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// Every policy that came into force, as its aggregate state (the premium
/// report's input), decoded once per version and kept: each read looks at
/// the policies projection's checkpoint first and, when it has not moved
/// (the read model is written in the checkpoint's transaction, so nothing
/// changed), answers from what it kept; otherwise it fetches the ids and
/// versions of the candidates, and the state of only those new or changed
/// since the last read (the dashboard read and decoded every one on every
/// request).
#[derive(Default)]
pub struct InForceBook {
    kept: tokio::sync::Mutex<Kept>,
    /// Premium figures by range and grouping, with the mark of the book
    /// they were worked out on.
    figures: std::sync::Mutex<HashMap<FiguresKey, Figures>>,
}

/// A premium report's range and grouping.
type FiguresKey = (NaiveDate, NaiveDate, &'static str);

/// A premium report's rows, and the mark of the book they were worked out
/// on.
type Figures = (BookMark, Arc<Vec<PremiumRow>>);

/// Most ranges whose figures are kept (the dashboards' and a few reports').
const FIGURES_KEPT: usize = 64;

#[derive(Default)]
struct Kept {
    /// The checkpoint the list below was read at.
    mark: Option<(i64, i64)>,
    /// By policy: the version decoded and its state.
    states: HashMap<Uuid, (i64, Arc<Policy>)>,
    /// The policies in force at `mark`, by id.
    in_force: Arc<Vec<Arc<Policy>>>,
}

/// Where the policies projection stands: `(tx_id, global_position)`.
pub type BookMark = (i64, i64);

impl InForceBook {
    /// The policies that came into force, by id, as the read model has them
    /// now, and the projection's checkpoint they were read at (it names the
    /// book's state: the same mark, the same policies).
    ///
    /// # Errors
    /// When the database fails or a stored state does not decode.
    pub async fn states(&self, pool: &PgPool) -> anyhow::Result<(BookMark, Arc<Vec<Arc<Policy>>>)> {
        // One refresh at a time: a second reader waits and finds it done.
        let mut kept = self.kept.lock().await;
        let mark: BookMark = sqlx::query_as(
            "SELECT tx_id, global_position FROM subscription_checkpoints WHERE name = 'policies'",
        )
        .fetch_optional(pool)
        .await?
        .unwrap_or_default();
        if kept.mark == Some(mark) {
            return Ok((mark, kept.in_force.clone()));
        }
        // Only these statuses follow cover coming into force (submitted,
        // approved and rejected never do).
        let versions: Vec<(Uuid, i64)> = sqlx::query_as(
            "SELECT id, version FROM policies
             WHERE status IN ('active', 'expired', 'cancelled', 'lapsed') ORDER BY id",
        )
        .fetch_all(pool)
        .await?;
        let stale: Vec<Uuid> = versions
            .iter()
            .filter(|(id, version)| kept.states.get(id).is_none_or(|(seen, _)| seen != version))
            .map(|(id, _)| *id)
            .collect();
        if !stale.is_empty() {
            // The version read with each state: a pair that belongs together
            // even if the policy changed since the list above.
            let rows: Vec<(Uuid, i64, serde_json::Value)> =
                sqlx::query_as("SELECT id, version, state FROM policies WHERE id = ANY($1)")
                    .bind(&stale)
                    .fetch_all(pool)
                    .await?;
            for (id, version, state) in rows {
                kept.states
                    .insert(id, (version, Arc::new(serde_json::from_value(state)?)));
            }
        }
        let live: HashSet<Uuid> = versions.iter().map(|(id, _)| *id).collect();
        kept.states.retain(|id, _| live.contains(id));
        let in_force: Vec<Arc<Policy>> = versions
            .iter()
            .filter_map(|(id, _)| kept.states.get(id))
            .filter(|(_, policy)| policy.in_force.is_some())
            .map(|(_, policy)| policy.clone())
            .collect();
        // A list read while the projection moved on is kept under the mark
        // read before it: the next read sees the newer mark and reads again.
        kept.mark = Some(mark);
        kept.in_force = Arc::new(in_force);
        Ok((mark, kept.in_force.clone()))
    }

    /// The premium report over `[from, to]` (`domain::reports::premiums`),
    /// worked out once per state of the book and range.
    ///
    /// # Errors
    /// As [`InForceBook::states`].
    pub async fn premiums(
        &self,
        pool: &PgPool,
        from: NaiveDate,
        to: NaiveDate,
        group_by: GroupBy,
    ) -> anyhow::Result<Arc<Vec<PremiumRow>>> {
        let (mark, book) = self.states(pool).await?;
        let key = (from, to, group_by.as_str());
        let figures = |kept: &HashMap<FiguresKey, Figures>| {
            kept.get(&key)
                .filter(|(at, _)| *at == mark)
                .map(|(_, rows)| rows.clone())
        };
        if let Some(rows) = figures(&self.figures.lock().expect("figures lock")) {
            return Ok(rows);
        }
        let rows = Arc::new(premiums(book.iter().map(AsRef::as_ref), from, to, group_by));
        let mut kept = self.figures.lock().expect("figures lock");
        if kept.len() >= FIGURES_KEPT {
            kept.clear();
        }
        kept.insert(key, (mark, rows.clone()));
        Ok(rows)
    }
}

/// Active policies whose cover ends within the earliest reminder's reach
/// of `today` and may have an expiry reminder due: not yet reminded for
/// that term at the stage now reached (the scheduler's list; the policy
/// decides).
///
/// # Errors
/// When the database fails.
pub async fn ids_due_an_expiry_reminder(
    pool: &PgPool,
    today: NaiveDate,
    limit: i64,
) -> Result<Vec<Uuid>, sqlx::Error> {
    let [first, last] = domain::reminders::EXPIRY_REMINDER_DAYS;
    sqlx::query_scalar(
        "SELECT id FROM policies
         WHERE status = 'active' AND end_date >= $1 AND end_date <= $1 + $2::int
           AND NOT coalesce((state->>'renewal_paid')::boolean, false)
           AND NOT coalesce(state->'expiry_reminders' @> jsonb_build_array(
                   jsonb_build_array((state->>'in_force')::int,
                                     CASE WHEN end_date <= $1 + $3::int THEN $3 ELSE $2 END)), false)
         ORDER BY end_date, id LIMIT $4",
    )
    .bind(today)
    .bind(first as i32)
    .bind(last as i32)
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// Ids of active policies whose term ends on or before `until`, that have no
/// renewal offered yet and whose product still sells (the scheduler's
/// renewal list).
///
/// # Errors
/// When the database fails.
pub async fn ids_due_for_renewal(
    pool: &PgPool,
    until: NaiveDate,
    limit: i64,
) -> Result<Vec<Uuid>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT p.id FROM policies p JOIN products pr ON pr.id = p.product_id
         WHERE p.status = 'active' AND p.end_date <= $1 AND pr.status = 'active'
           AND jsonb_array_length(p.state->'terms') = (p.state->>'in_force')::int
         ORDER BY p.end_date, p.id LIMIT $2",
    )
    .bind(until)
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// Active policies `scope` may see whose cover ends in `[from, to]`, the
/// soonest first (renewals coming due).
///
/// # Errors
/// When the database fails.
pub async fn ending_between(
    pool: &PgPool,
    scope: Scope,
    from: NaiveDate,
    to: NaiveDate,
    limit: i64,
) -> Result<Vec<PolicyRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM policies
         WHERE {} AND status = 'active' AND end_date BETWEEN $3 AND $4
         ORDER BY end_date, id LIMIT $5",
        scoped(1, 2)
    ))
    .bind(scope.customer())
    .bind(scope.agent())
    .bind(from)
    .bind(to)
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// How many policies `scope` may see are in `status`, and since when the
/// oldest of them was last changed.
///
/// # Errors
/// When the database fails.
pub async fn count_in_status(
    pool: &PgPool,
    scope: Scope,
    status: &str,
) -> Result<(i64, Option<chrono::DateTime<chrono::Utc>>), sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT count(*), min(updated_at) FROM policies WHERE {} AND status = $3",
        scoped(1, 2)
    ))
    .bind(scope.customer())
    .bind(scope.agent())
    .bind(status)
    .fetch_one(pool)
    .await
}
