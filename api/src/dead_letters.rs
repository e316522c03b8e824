//! Dead letters (admin): `GET /admin/dead-letters` lists the jobs workers
//! gave up on; `POST /admin/dead-letters/{id}/retry` puts one back in its
//! worker's queue (`202`: the worker sends it on its next pass).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use domain::Role;
use projections::dead_letters::{self, DeadLetter, RetryError};

use crate::auth::principal::Principal;
use crate::error::ApiError;
use crate::extract::{IdPath, QueryParams};
use crate::pagination::{Page, PageQuery};
use crate::state::AppState;

/// The dead-letter routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/dead-letters", get(list))
        .route("/admin/dead-letters/{id}/retry", post(retry))
}

async fn list(
    State(state): State<AppState>,
    principal: Principal,
    QueryParams(query): QueryParams<PageQuery>,
) -> Result<Json<Page<DeadLetter>>, ApiError> {
    principal.require(&[Role::Admin])?;
    let page = query.parse()?;
    let rows = dead_letters::open(&state.pool, page.after, page.limit + 1).await?;
    Ok(Json(Page::from_rows(rows, page, |d| d.id, |d| d)))
}

#[tracing::instrument(skip_all, fields(dead_letter = %id))]
async fn retry(
    State(state): State<AppState>,
    principal: Principal,
    IdPath(id): IdPath,
) -> Result<Response, ApiError> {
    principal.require(&[Role::Admin])?;
    match dead_letters::retry(&state.pool, id).await {
        Ok(letter) => {
            tracing::info!(worker = %letter.worker, job = %letter.job_id, "dead letter re-driven");
            Ok((StatusCode::ACCEPTED, Json(letter)).into_response())
        }
        Err(RetryError::NotFound) => Err(ApiError::NotFound),
        Err(RetryError::Store(error)) => Err(error.into()),
    }
}
