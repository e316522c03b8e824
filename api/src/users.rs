//! User administration: admins create and list users; staff assign agents
//! to customers.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Json, Router};
use domain::user::{User, UserCommand};
use domain::{Role, UserId};
use projections::read_models::users::{self, UserRow};
use serde::Deserialize;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::accounts::{open_account, NewAccount};
use crate::auth::principal::Principal;
use crate::error::ApiError;
use crate::extract::{IdPath, IfMatch, JsonBody, OptionalJsonBody, QueryParams};
use crate::pagination::{Page, PageQuery};
use crate::request_context::RequestContext;
use crate::state::AppState;
use crate::writes::{metadata, respond_current, respond_to_command, ResourceRow, ResourceView};
use chrono::{DateTime, Utc};
use sqlx::PgPool;

/// The user routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/users", post(create).get(list))
        .route("/users/{id}", get(show))
        .route("/users/{id}/deactivate", post(deactivate))
        .route("/users/{id}/reactivate", post(reactivate))
        .route("/users/{id}/role", post(change_role))
        .route("/customers/{id}/assign-agent", post(assign_agent))
}

/// A user as the API shows it.
pub fn user_view(row: &UserRow) -> Value {
    json!({
        "id": row.id,
        "email": row.email,
        "full_name": row.full_name,
        "phone_number": row.phone_number,
        "role": row.role,
        "agent_id": row.agent_id,
        "status": if row.active { "active" } else { "deactivated" },
        "version": row.version,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
    })
}

#[derive(Deserialize)]
struct CreateUserRequest {
    email: String,
    password: String,
    full_name: String,
    phone_number: Option<String>,
    role: Role,
}

#[tracing::instrument(skip_all)]
async fn create(
    State(state): State<AppState>,
    principal: Principal,
    context: RequestContext,
    JsonBody(body): JsonBody<CreateUserRequest>,
) -> Result<Response, ApiError> {
    principal.require(&[Role::Admin])?;
    let account = NewAccount {
        email: body.email,
        password: body.password,
        full_name: body.full_name,
        phone_number: body.phone_number,
        role: body.role,
    };
    let meta = metadata(Some(&principal), &context);
    let (user_id, committed) = open_account(&state.pool, &state.store, account, &meta).await?;
    respond_to_command::<UserRow>(&state, user_id, &committed, StatusCode::CREATED).await
}

#[derive(Deserialize)]
struct ListQuery {
    role: Option<Role>,
    #[serde(flatten)]
    page: PageQuery,
}

async fn list(
    State(state): State<AppState>,
    principal: Principal,
    QueryParams(query): QueryParams<ListQuery>,
) -> Result<Json<Page<Value>>, ApiError> {
    principal.require(&[Role::Admin])?;
    let page = query.page.parse()?;
    let rows = users::list(
        &state.pool,
        query.role.map(Role::as_str),
        page.after,
        page.limit + 1,
    )
    .await?;
    Ok(Json(Page::from_rows(
        rows,
        page,
        |r| r.id,
        |r| user_view(&r),
    )))
}

async fn show(
    State(state): State<AppState>,
    principal: Principal,
    IdPath(id): IdPath,
) -> Result<Response, ApiError> {
    principal.require(&[Role::Admin])?;
    respond_current::<UserRow>(&state, id, StatusCode::OK).await
}

/// `409 own_account` when `id` is the admin's own account: another admin
/// must `act` on it (no admin locks themselves out).
fn not_own_account(principal: &Principal, id: Uuid, act: &str) -> Result<(), ApiError> {
    if id == principal.user_id {
        return Err(ApiError::Conflict {
            code: "own_account",
            detail: format!("an admin cannot {act}: ask another admin"),
        });
    }
    Ok(())
}

#[derive(Deserialize, Default)]
struct DeactivateRequest {
    reason: Option<String>,
}

/// `POST /users/{id}/deactivate`: the account may no longer sign in; every
/// session it has is ended (its access tokens stop working within a
/// second, as the session check sees the revoked family). An admin cannot
/// deactivate themselves.
#[tracing::instrument(skip_all, fields(user_id = %id))]
async fn deactivate(
    State(state): State<AppState>,
    principal: Principal,
    context: RequestContext,
    IdPath(id): IdPath,
    IfMatch(expected): IfMatch,
    OptionalJsonBody(body): OptionalJsonBody<DeactivateRequest>,
) -> Result<Response, ApiError> {
    principal.require(&[Role::Admin])?;
    not_own_account(&principal, id, "deactivate their own account")?;
    let command = UserCommand::Deactivate {
        reason: body.reason,
    };
    let meta = metadata(Some(&principal), &context);
    let committed = state
        .store
        .execute::<User>(&id.to_string(), command, expected, &meta)
        .await?;
    crate::auth::refresh_tokens::revoke_user(&state.pool, id).await?;
    respond_to_command::<UserRow>(&state, id, &committed, StatusCode::OK).await
}

/// `POST /users/{id}/reactivate`: the account may sign in again (with a
/// new sign-in: its old sessions stay ended).
#[tracing::instrument(skip_all, fields(user_id = %id))]
async fn reactivate(
    State(state): State<AppState>,
    principal: Principal,
    context: RequestContext,
    IdPath(id): IdPath,
    IfMatch(expected): IfMatch,
) -> Result<Response, ApiError> {
    principal.require(&[Role::Admin])?;
    let meta = metadata(Some(&principal), &context);
    let committed = state
        .store
        .execute::<User>(&id.to_string(), UserCommand::Reactivate, expected, &meta)
        .await?;
    respond_to_command::<UserRow>(&state, id, &committed, StatusCode::OK).await
}

#[derive(Deserialize)]
struct ChangeRoleRequest {
    role: Role,
}

/// `POST /users/{id}/role`: gives the user another role, recorded as a
/// `RoleChanged` event. Their sessions end (refresh tokens revoked; access
/// tokens refused within a second) and the next sign-in carries the new
/// role.
/// An admin cannot change their own role; an agent who still serves
/// customers, and a customer who holds applications or policies, keep
/// theirs (`409`).
#[tracing::instrument(skip_all, fields(user_id = %id))]
async fn change_role(
    State(state): State<AppState>,
    principal: Principal,
    context: RequestContext,
    IdPath(id): IdPath,
    IfMatch(expected): IfMatch,
    JsonBody(body): JsonBody<ChangeRoleRequest>,
) -> Result<Response, ApiError> {
    principal.require(&[Role::Admin])?;
    not_own_account(&principal, id, "change their own role")?;
    let count = |n: i64| u64::try_from(n).unwrap_or(0);
    let command = UserCommand::ChangeRole {
        role: body.role,
        customers_served: count(users::customers_served(&state.pool, id).await?),
        policies_held: count(
            projections::read_models::policies::count_held_by(&state.pool, id).await?,
        ),
    };
    let meta = metadata(Some(&principal), &context);
    let committed = state
        .store
        .execute::<User>(&id.to_string(), command, expected, &meta)
        .await?;
    if !committed.events.is_empty() {
        // Their sessions were for the old role: they end, as at a
        // deactivation, so the next sign-in is the one with the new role.
        crate::auth::refresh_tokens::revoke_user(&state.pool, id).await?;
    }
    respond_to_command::<UserRow>(&state, id, &committed, StatusCode::OK).await
}

#[derive(Deserialize)]
struct AssignAgentRequest {
    agent_id: Uuid,
}

#[tracing::instrument(skip_all, fields(customer_id = %customer_id))]
async fn assign_agent(
    State(state): State<AppState>,
    principal: Principal,
    context: RequestContext,
    IdPath(customer_id): IdPath,
    IfMatch(expected): IfMatch,
    JsonBody(body): JsonBody<AssignAgentRequest>,
) -> Result<Response, ApiError> {
    principal.require(&[Role::Staff, Role::Admin])?;
    users::get(&state.pool, customer_id)
        .await?
        .ok_or(ApiError::NotFound)?;
    let agent = users::get(&state.pool, body.agent_id)
        .await?
        .ok_or_else(|| ApiError::invalid("agent_id", "no such user"))?;
    let agent_role: Role = agent
        .role
        .parse()
        .map_err(|e: String| ApiError::Internal(anyhow::anyhow!(e)))?;
    let command = UserCommand::AssignAgent {
        agent_id: UserId(agent.id),
        agent_role,
    };
    let meta = metadata(Some(&principal), &context);
    let committed = state
        .store
        .execute::<User>(&customer_id.to_string(), command, expected, &meta)
        .await?;
    respond_to_command::<UserRow>(&state, customer_id, &committed, StatusCode::OK).await
}

impl ResourceRow for UserRow {
    type Aggregate = User;
    const PROJECTION: &'static str = "users";

    async fn read(pool: &PgPool, id: Uuid) -> Result<Option<Self>, sqlx::Error> {
        users::get(pool, id).await
    }

    fn version(&self) -> i64 {
        self.version
    }

    fn from_aggregate(
        id: Uuid,
        user: &User,
        version: i64,
        created_at: DateTime<Utc>,
        updated_at: DateTime<Utc>,
    ) -> Result<Self, ApiError> {
        let profile = user.profile.as_ref().ok_or(ApiError::NotFound)?;
        Ok(UserRow {
            id,
            email: profile.email.as_str().to_string(),
            full_name: profile.full_name.clone(),
            phone_number: profile.phone_number.clone().map(String::from),
            role: profile.role.as_str().to_string(),
            agent_id: profile.agent_id.map(|a| a.0),
            active: !user.deactivated,
            version,
            created_at,
            updated_at,
        })
    }
}

impl ResourceView for UserRow {
    fn view(&self) -> Value {
        user_view(self)
    }
}
