//! Customers as agents and staff see them: `GET /customers` (an agent
//! their assigned customers, staff, admins and auditors all; `?q=` finds
//! by name, email or phone) and `GET /customers/{id}` (a customer not an
//! agent's own is `404`). `GET /agents` lists the agents a customer can be
//! assigned to (staff, admins).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::{Json, Router};
use domain::Role;
use projections::read_models::users::{self, UserRow};
use serde::Deserialize;
use serde_json::Value;
use uuid::Uuid;

use crate::auth::principal::Principal;
use crate::error::ApiError;
use crate::extract::{IdPath, QueryParams};
use crate::pagination::{Page, PageQuery};
use crate::state::AppState;
use crate::users::user_view;
use crate::writes::with_etag;

/// Who reads customers.
const READERS: [Role; 4] = [Role::Agent, Role::Staff, Role::Admin, Role::Auditor];

/// The customer routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/customers", get(list))
        .route("/customers/{id}", get(show))
        .route("/agents", get(agents))
}

#[derive(Deserialize)]
struct ListQuery {
    q: Option<String>,
    #[serde(flatten)]
    page: PageQuery,
}

/// The agent whose customers `principal` sees, if it is limited to them.
fn own_agent(principal: &Principal) -> Option<Uuid> {
    (principal.role == Role::Agent).then_some(principal.user_id)
}

async fn list(
    State(state): State<AppState>,
    principal: Principal,
    QueryParams(query): QueryParams<ListQuery>,
) -> Result<Json<Page<Value>>, ApiError> {
    principal.require(&READERS)?;
    let page = query.page.parse()?;
    let search = query.q.as_deref().map(str::trim).filter(|q| !q.is_empty());
    if search.is_some_and(|q| q.chars().count() > 100) {
        return Err(ApiError::invalid("q", "must be at most 100 characters"));
    }
    let rows = users::customers(
        &state.pool,
        own_agent(&principal),
        search,
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
    principal.require(&READERS)?;
    let row: UserRow = users::get(&state.pool, id)
        .await?
        .filter(|r| r.role == "customer")
        .filter(|r| own_agent(&principal).is_none_or(|agent| r.agent_id == Some(agent)))
        .ok_or(ApiError::NotFound)?;
    Ok(with_etag(StatusCode::OK, row.version, user_view(&row)))
}

async fn agents(
    State(state): State<AppState>,
    principal: Principal,
    QueryParams(query): QueryParams<PageQuery>,
) -> Result<Json<Page<Value>>, ApiError> {
    principal.require(&[Role::Staff, Role::Admin])?;
    let page = query.parse()?;
    let rows = users::list(&state.pool, Some("agent"), page.after, page.limit + 1).await?;
    Ok(Json(Page::from_rows(
        rows,
        page,
        |r| r.id,
        |r| user_view(&r),
    )))
}
