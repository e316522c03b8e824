//! `POST /integrations/configs/{id}/test`: the configuration's adapter (in
//! the workers, reached through [`ConnectionTester`]) calls the provider's
//! cheapest authenticated endpoint; the result is recorded on the
//! configuration as an event and returned with it.

use async_trait::async_trait;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use domain::integration::{ConnectionTest, IntegrationCommand, IntegrationConfig};
use domain::Role;
use uuid::Uuid;

use super::respond;
use crate::auth::principal::Principal;
use crate::error::ApiError;
use crate::extract::IdPath;
use crate::request_context::RequestContext;
use crate::state::AppState;
use crate::writes::metadata;

/// Why a test could not run.
#[derive(Debug, thiserror::Error)]
pub enum TestRefusal {
    /// No such configuration.
    #[error("no such configuration")]
    NotFound,
    /// Its provider has no adapter.
    #[error("{0}")]
    NoAdapter(String),
    /// Something failed on our side.
    #[error(transparent)]
    Internal(anyhow::Error),
}

/// Tests a configuration against its provider. Implemented by the workers'
/// adapters; the API only asks.
#[async_trait]
pub trait ConnectionTester: Send + Sync + 'static {
    /// Calls the provider with configuration `id`'s credentials.
    ///
    /// # Errors
    /// [`TestRefusal`]; refused credentials are a failed test, not an error.
    async fn test(&self, id: Uuid) -> Result<ConnectionTest, TestRefusal>;
}

#[tracing::instrument(skip_all, fields(integration_id = %id))]
pub(super) async fn test(
    State(state): State<AppState>,
    principal: Principal,
    context: RequestContext,
    IdPath(id): IdPath,
) -> Result<Response, ApiError> {
    principal.require(&[Role::Admin])?;
    let result = state
        .tester
        .test(id)
        .await
        .map_err(|refusal| match refusal {
            TestRefusal::NotFound => ApiError::NotFound,
            TestRefusal::NoAdapter(detail) => ApiError::Conflict {
                code: "no_adapter",
                detail,
            },
            TestRefusal::Internal(error) => ApiError::Internal(error),
        })?;
    let meta = metadata(Some(&principal), &context);
    let committed = state
        .store
        .execute::<IntegrationConfig>(
            &id.to_string(),
            IntegrationCommand::RecordTest(result),
            None,
            &meta,
        )
        .await?;
    respond(&state, id, &committed, StatusCode::OK).await
}
