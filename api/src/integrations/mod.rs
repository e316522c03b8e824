//! The Integrations Center (admin only): the provider catalogue;
//! configurations whose credentials are encrypted in the vault and shown
//! masked, never in clear; connection tests ([`testing`]); and the
//! integration log of every provider call ([`logs`]).

mod deliveries;
mod destination;
pub mod logs;
pub mod testing;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Json, Router};
use domain::integration::catalogue::{self, mask, Category};
use domain::integration::{
    Environment, IntegrationCommand, IntegrationConfig, IntegrationError, NewConfig, Settings,
};
use domain::{IntegrationId, Role};
use projections::read_models::integrations::{self, IntegrationFilter, IntegrationRow};
use projections::vault::{Credentials, VaultError};
use serde::Deserialize;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::auth::principal::Principal;
use crate::error::ApiError;
use crate::extract::{IdPath, IfMatch, JsonBody, QueryParams};
use crate::pagination::{Page, PageQuery};
use crate::request_context::RequestContext;
use crate::state::AppState;
use crate::writes::{metadata, row_after_command, with_etag, StateResource};

/// The integration routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/integrations/categories", get(categories))
        .route("/integrations/providers", get(providers))
        .route("/integrations/configs", post(create).get(list))
        .route("/integrations/configs/{id}", get(show).patch(update))
        .route("/integrations/configs/{id}/toggle", post(toggle))
        .route("/integrations/configs/{id}/test", post(testing::test))
        .route("/integrations/logs", get(logs::list))
        .route("/integrations/webhooks", get(deliveries::list))
        .route("/integrations/webhooks/{id}", get(deliveries::show))
}

impl StateResource for IntegrationConfig {
    const PROJECTION: &'static str = "integrations";
    const TABLE: &'static str = "integrations";

    fn exists(&self) -> bool {
        self.details.is_some()
    }
}

impl From<VaultError> for ApiError {
    fn from(error: VaultError) -> Self {
        ApiError::Internal(anyhow::anyhow!(error))
    }
}

impl From<IntegrationError> for ApiError {
    fn from(error: IntegrationError) -> Self {
        match error {
            IntegrationError::Validation(errors) => ApiError::Validation(errors),
            IntegrationError::NotFound => ApiError::NotFound,
            IntegrationError::AlreadyConfigured => ApiError::Conflict {
                code: "already_exists",
                detail: error.to_string(),
            },
        }
    }
}

/// Whether `provider` exists in this deployment (the sandbox does not in
/// production).
fn offered(state: &AppState, provider: &catalogue::Provider) -> bool {
    provider.adapter && (state.config.sandbox || provider.slug != crate::billing::SANDBOX)
}

async fn categories(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<Json<Value>, ApiError> {
    principal.require(&[Role::Admin])?;
    let items: Vec<Value> = Category::ALL
        .iter()
        .map(|c| {
            let providers: Vec<&str> = catalogue::PROVIDERS
                .iter()
                .filter(|p| p.category == *c && offered(&state, p))
                .map(|p| p.slug)
                .collect();
            json!({"slug": c.as_str(), "providers": providers})
        })
        .collect();
    Ok(Json(json!({"items": items, "next_cursor": null})))
}

#[derive(Deserialize)]
struct ProviderQuery {
    category: Option<String>,
}

async fn providers(
    State(state): State<AppState>,
    principal: Principal,
    QueryParams(query): QueryParams<ProviderQuery>,
) -> Result<Json<Value>, ApiError> {
    principal.require(&[Role::Admin])?;
    let items: Vec<&catalogue::Provider> = catalogue::PROVIDERS
        .iter()
        .filter(|p| offered(&state, p))
        .filter(|p| {
            query
                .category
                .as_deref()
                .is_none_or(|c| p.category.as_str() == c)
        })
        .collect();
    Ok(Json(json!({"items": items, "next_cursor": null})))
}

/// A configuration as the API shows it, credentials masked.
fn config_view(row: &IntegrationRow, credentials: &Credentials, base: &str) -> Value {
    let Some(details) = &row.state.details else {
        return json!({"id": row.id, "version": row.version});
    };
    let masked: serde_json::Map<String, Value> = credentials
        .iter()
        .map(|(field, secret)| (field.clone(), json!(mask(secret))))
        .collect();
    let webhook = catalogue::provider(&details.provider)
        .filter(|p| p.webhooks)
        .map(|p| {
            let url = format!("{base}/api/v1/webhooks/{}", p.slug);
            // Unsigned callbacks carry the configuration's secret token:
            // ifinsure adds it to each request it makes (never shown), or,
            // where the admin registers the URL at the provider, the admin
            // is shown it.
            match credentials.get(CALLBACK_TOKEN) {
                Some(token) if p.registered_callback => format!("{url}?token={token}"),
                _ if p.fields.iter().any(|f| f.name == CALLBACK_TOKEN) => {
                    format!("{url}?token={{callback_token}}")
                }
                _ => url,
            }
        });
    json!({
        "id": row.id,
        "provider": details.provider,
        "category": details.category,
        "name": details.name,
        "environment": details.environment,
        "enabled": details.enabled,
        "is_primary": details.is_primary,
        "priority": details.priority,
        "settings": details.settings,
        "credentials": masked,
        "webhook_url": webhook,
        "last_test": row.state.last_test,
        "version": row.version,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
    })
}

pub(crate) async fn respond(
    state: &AppState,
    id: Uuid,
    committed: &projections::Committed<IntegrationConfig>,
    status: StatusCode,
) -> Result<Response, ApiError> {
    let (row, waited) = row_after_command::<IntegrationRow>(state, id, committed).await?;
    let credentials = state.vault.load(&state.pool, id).await?;
    let body = config_view(&row, &credentials, &state.config.public_base_url);
    Ok(waited.annotate(with_etag(status, row.version, body)))
}

#[derive(Deserialize)]
struct CreateRequest {
    provider: String,
    name: String,
    environment: Environment,
    #[serde(default = "yes")]
    enabled: bool,
    #[serde(default)]
    is_primary: bool,
    #[serde(default)]
    priority: u32,
    #[serde(default)]
    credentials: Credentials,
    #[serde(default)]
    settings: Settings,
}

use destination::CALLBACK_TOKEN;

/// 32 random bytes, URL-safe: unguessable, and safe in a query string.
fn callback_token() -> String {
    use base64::Engine;
    let bytes: [u8; 32] = rand::random();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn yes() -> bool {
    true
}

fn non_empty(credentials: Credentials) -> Credentials {
    credentials
        .into_iter()
        .filter(|(_, v)| !v.trim().is_empty())
        .collect()
}

#[tracing::instrument(skip_all)]
async fn create(
    State(state): State<AppState>,
    principal: Principal,
    context: RequestContext,
    JsonBody(body): JsonBody<CreateRequest>,
) -> Result<Response, ApiError> {
    principal.require(&[Role::Admin])?;
    if !state.config.sandbox && body.provider == crate::billing::SANDBOX {
        return Err(ApiError::invalid(
            "provider",
            "the sandbox does not exist in production",
        ));
    }
    if catalogue::provider(&body.provider).is_some_and(|p| !p.adapter) {
        return Err(ApiError::invalid(
            "provider",
            "this build has no adapter for it (build with `--features s3` or `gcs`)",
        ));
    }
    destination::check_base_url(&state.config.egress, &body.provider, &body.settings)?;
    let config_id = IntegrationId::new();
    let mut credentials = non_empty(body.credentials);
    let takes_token = catalogue::provider(&body.provider)
        .is_some_and(|p| p.fields.iter().any(|f| f.name == CALLBACK_TOKEN));
    if takes_token && !credentials.contains_key(CALLBACK_TOKEN) {
        credentials.insert(CALLBACK_TOKEN.to_string(), callback_token());
    }
    let command = IntegrationCommand::Create(NewConfig {
        config_id,
        provider: body.provider,
        name: body.name,
        environment: body.environment,
        enabled: body.enabled,
        is_primary: body.is_primary,
        priority: body.priority,
        settings: body.settings,
        credential_fields: credentials.keys().cloned().collect(),
    });
    state
        .vault
        .store(&state.pool, config_id.0, &credentials)
        .await?;
    let meta = metadata(Some(&principal), &context);
    match state
        .store
        .execute_new::<IntegrationConfig>(&config_id.to_string(), command, &meta)
        .await
    {
        Ok(committed) => respond(&state, config_id.0, &committed, StatusCode::CREATED).await,
        Err(error) => {
            state.vault.forget(&state.pool, config_id.0).await?;
            Err(error.into())
        }
    }
}

#[derive(Deserialize)]
struct ListQuery {
    category: Option<String>,
    provider: Option<String>,
    environment: Option<String>,
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
    let filter = IntegrationFilter {
        category: query.category,
        provider: query.provider,
        environment: query.environment,
    };
    let rows = integrations::list(&state.pool, &filter, page.after, page.limit + 1).await?;
    let mut views = Vec::with_capacity(rows.len());
    for row in rows {
        let credentials = state.vault.load(&state.pool, row.id).await?;
        views.push((
            row.id,
            config_view(&row, &credentials, &state.config.public_base_url),
        ));
    }
    Ok(Json(Page::from_rows(
        views,
        page,
        |(id, _)| *id,
        |(_, v)| v,
    )))
}

async fn show(
    State(state): State<AppState>,
    principal: Principal,
    IdPath(id): IdPath,
) -> Result<Response, ApiError> {
    principal.require(&[Role::Admin])?;
    let row = integrations::get(&state.pool, id)
        .await?
        .ok_or(ApiError::NotFound)?;
    let credentials = state.vault.load(&state.pool, id).await?;
    Ok(with_etag(
        StatusCode::OK,
        row.version,
        config_view(&row, &credentials, &state.config.public_base_url),
    ))
}

#[derive(Deserialize)]
struct UpdateRequest {
    name: Option<String>,
    enabled: Option<bool>,
    is_primary: Option<bool>,
    priority: Option<u32>,
    settings: Option<Settings>,
    /// Fields given replace the stored ones; an empty string removes one.
    credentials: Option<Credentials>,
}

#[tracing::instrument(skip_all, fields(integration_id = %id))]
async fn update(
    State(state): State<AppState>,
    principal: Principal,
    context: RequestContext,
    IdPath(id): IdPath,
    IfMatch(expected): IfMatch,
    JsonBody(body): JsonBody<UpdateRequest>,
) -> Result<Response, ApiError> {
    principal.require(&[Role::Admin])?;
    let row = integrations::get(&state.pool, id)
        .await?
        .ok_or(ApiError::NotFound)?;
    let details = row.state.details.ok_or(ApiError::NotFound)?;
    let before = state.vault.load(&state.pool, id).await?;
    let moved = match &body.settings {
        Some(settings) => {
            destination::check_base_url(&state.config.egress, &details.provider, settings)?;
            destination::changed(&details.settings, settings)
        }
        None => Vec::new(),
    };
    destination::check_reentered(
        &details.provider,
        &moved,
        &before,
        body.credentials.as_ref(),
    )?;
    let mut changes = body.credentials;
    if !moved.is_empty() && before.contains_key(CALLBACK_TOKEN) {
        // The old token went to the old destination: a new one for the new.
        changes
            .get_or_insert_with(Credentials::new)
            .insert(CALLBACK_TOKEN.to_string(), callback_token());
    }
    let after = changes.map(|changes| {
        let mut merged = before.clone();
        merged.extend(changes);
        non_empty(merged)
    });
    let command = IntegrationCommand::Update {
        name: body.name,
        enabled: body.enabled,
        is_primary: body.is_primary,
        priority: body.priority,
        settings: body.settings,
        credential_fields: after.as_ref().map(|c| c.keys().cloned().collect()),
    };
    if let Some(after) = &after {
        state.vault.store(&state.pool, id, after).await?;
    }
    let meta = metadata(Some(&principal), &context);
    match state
        .store
        .execute::<IntegrationConfig>(&id.to_string(), command, expected, &meta)
        .await
    {
        Ok(committed) => respond(&state, id, &committed, StatusCode::OK).await,
        Err(error) => {
            state.vault.store(&state.pool, id, &before).await?;
            Err(error.into())
        }
    }
}

async fn toggle(
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
        .execute::<IntegrationConfig>(&id.to_string(), IntegrationCommand::Toggle, expected, &meta)
        .await?;
    respond(&state, id, &committed, StatusCode::OK).await
}
