//! The notification log: `GET /notifications` (staff, admin; filters
//! `recipient`, `template`, `channel`, `status`) and `GET /me/notifications`
//! (the caller's own). Bodies are not shown here; the log says what was
//! sent to whom, when, through which provider, after how many attempts.
//! And each person's preferences: `GET|PUT /me/notification-preferences`
//! (reminders per channel may be turned off; marketing is off unless asked
//! for; transactional notices always go).

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use domain::notifications::Preferences;
use domain::user::{User, UserCommand};
use domain::Role;
use projections::notifications::{self, Filter, Notification};
use serde::Deserialize;

use crate::auth::principal::Principal;
use crate::error::ApiError;
use crate::extract::{JsonBody, QueryParams};
use crate::pagination::{Page, PageQuery};
use crate::request_context::RequestContext;
use crate::state::AppState;
use crate::writes::metadata;

/// The notification routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/notifications", get(list))
        .route("/me/notifications", get(mine))
        .route(
            "/me/notification-preferences",
            get(preferences).put(set_preferences),
        )
}

#[derive(Deserialize)]
struct ListQuery {
    recipient: Option<String>,
    template: Option<String>,
    channel: Option<String>,
    status: Option<String>,
    #[serde(flatten)]
    page: PageQuery,
}

fn checked(query: &ListQuery) -> Result<(), ApiError> {
    let mut errors = domain::ValidationErrors::new();
    if let Some(template) = &query.template {
        errors.check(
            domain::notifications::Template::parse(template).is_some(),
            "template",
            "is not a template name (welcome, application_submitted, ...)",
        );
    }
    if let Some(channel) = &query.channel {
        errors.check(
            matches!(channel.as_str(), "email" | "sms"),
            "channel",
            "must be email or sms",
        );
    }
    if let Some(status) = &query.status {
        errors.check(
            matches!(
                status.as_str(),
                "queued" | "sent" | "delivered" | "failed" | "dead"
            ),
            "status",
            "must be queued, sent, delivered, failed or dead",
        );
    }
    errors.into_result().map_err(ApiError::Validation)
}

async fn page(
    state: &AppState,
    query: ListQuery,
    recipient_id: Option<uuid::Uuid>,
) -> Result<Json<Page<Notification>>, ApiError> {
    checked(&query)?;
    let page = query.page.parse()?;
    let filter = Filter {
        recipient_id,
        recipient: query.recipient,
        template: query.template,
        channel: query.channel,
        status: query.status,
    };
    let rows = notifications::list(&state.pool, &filter, page.after, page.limit + 1).await?;
    Ok(Json(Page::from_rows(rows, page, |n| n.id, |n| n)))
}

async fn list(
    State(state): State<AppState>,
    principal: Principal,
    QueryParams(query): QueryParams<ListQuery>,
) -> Result<Json<Page<Notification>>, ApiError> {
    principal.require(&[Role::Staff, Role::Admin])?;
    page(&state, query, None).await
}

async fn mine(
    State(state): State<AppState>,
    principal: Principal,
    QueryParams(query): QueryParams<ListQuery>,
) -> Result<Json<Page<Notification>>, ApiError> {
    page(&state, query, Some(principal.user_id)).await
}

async fn preferences(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<Json<Preferences>, ApiError> {
    let (user, _) = state
        .store
        .load::<User>(&principal.user_id.to_string())
        .await?;
    Ok(Json(user.preferences))
}

#[tracing::instrument(skip_all)]
async fn set_preferences(
    State(state): State<AppState>,
    principal: Principal,
    context: RequestContext,
    JsonBody(body): JsonBody<Preferences>,
) -> Result<Json<Preferences>, ApiError> {
    let meta = metadata(Some(&principal), &context);
    let committed = state
        .store
        .execute::<User>(
            &principal.user_id.to_string(),
            UserCommand::SetNotificationPreferences(body),
            None,
            &meta,
        )
        .await?;
    Ok(Json(committed.aggregate.preferences))
}
