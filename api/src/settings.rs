//! `GET /settings` and `PUT /settings/{section}`: the general, branding,
//! email and security settings admins save. Each save is a
//! `SettingsChanged` event on the one `Settings` aggregate naming the
//! fields that changed; the environment's values are in force until a
//! section is saved. This process uses a save at once; every other within
//! a second (`projections::live_settings`).

use axum::extract::{Path, State};
use axum::http::header::ETAG;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use axum::{Json, Router};
use domain::settings::{
    Section, SectionValues, Settings, SettingsCommand, SettingsError, SettingsValues, SETTINGS_ID,
};
use domain::{Role, ValidationErrors};
use serde_json::{json, Map, Value};

use crate::auth::principal::Principal;
use crate::error::ApiError;
use crate::extract::{IfMatch, JsonBody};
use crate::request_context::RequestContext;
use crate::state::AppState;
use crate::writes::metadata;

/// The settings routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/settings", get(show))
        .route("/settings/{section}", put(save))
}

impl From<SettingsError> for ApiError {
    fn from(error: SettingsError) -> Self {
        match error {
            SettingsError::Validation(errors) => ApiError::Validation(errors),
        }
    }
}

/// The settings as the API shows them: every section to an admin, the
/// general and branding sections to anyone else signed in; which sections
/// were saved (the others follow the environment); the version.
pub fn settings_view(
    values: &SettingsValues,
    saved: &Settings,
    version: u64,
    admin: bool,
) -> Value {
    let mut view = json!({
        "general": values.general,
        "branding": values.branding,
        "version": version,
    });
    if admin {
        view["email"] = json!(values.email);
        view["security"] = json!(values.security);
        let saved: Vec<&str> = Section::ALL
            .into_iter()
            .filter(|section| saved.is_saved(*section))
            .map(Section::as_str)
            .collect();
        view["saved_sections"] = json!(saved);
    }
    view
}

fn respond(view: Value, version: u64) -> Response {
    let mut response = Json(view).into_response();
    if let Ok(etag) = format!("\"{version}\"").parse() {
        response.headers_mut().insert(ETAG, etag);
    }
    response
}

/// `GET /settings`.
#[tracing::instrument(skip_all)]
async fn show(State(state): State<AppState>, principal: Principal) -> Result<Response, ApiError> {
    let (saved, version) = state.store.load::<Settings>(SETTINGS_ID).await?;
    let values = saved.effective(state.settings.defaults());
    let admin = principal.role == Role::Admin;
    Ok(respond(
        settings_view(&values, &saved, version, admin),
        version,
    ))
}

/// The section's new values: the fields sent laid over those in force
/// (a field left out keeps its value), each named when it is unknown or
/// of the wrong type.
fn section_values(
    section: Section,
    current: &SettingsValues,
    body: Value,
) -> Result<SectionValues, ApiError> {
    let Value::Object(sent) = body else {
        return Err(ApiError::invalid(
            "body",
            "must be an object of the section's fields",
        ));
    };
    let Ok(Value::Object(mut fields)) = serde_json::to_value(current.section(section)) else {
        return Err(ApiError::Internal(anyhow::anyhow!(
            "a section is not an object"
        )));
    };
    // The externally tagged section: {"branding": {...}}.
    let mut fields: Map<String, Value> = match fields.remove(section.as_str()) {
        Some(Value::Object(inner)) => inner,
        _ => {
            return Err(ApiError::Internal(anyhow::anyhow!(
                "a section is not tagged"
            )))
        }
    };
    let mut errors = ValidationErrors::new();
    for (name, value) in sent {
        if fields.contains_key(&name) {
            fields.insert(name, value);
        } else {
            errors.add(
                &name,
                format!("is not a field of the {} settings", section.as_str()),
            );
        }
    }
    errors.into_result().map_err(ApiError::Validation)?;
    let tagged = json!({ section.as_str(): fields });
    serde_path_to_error::deserialize(tagged).map_err(|error| {
        let path = error.path().to_string();
        let field = path.rsplit('.').next().unwrap_or(&path).to_string();
        ApiError::invalid(&field, error.into_inner().to_string())
    })
}

/// `PUT /settings/{section}`: saves the section, validated; answers with
/// every setting as now in force.
#[tracing::instrument(skip_all, fields(section = %section))]
async fn save(
    State(state): State<AppState>,
    principal: Principal,
    context: RequestContext,
    Path(section): Path<String>,
    IfMatch(expected): IfMatch,
    JsonBody(body): JsonBody<Value>,
) -> Result<Response, ApiError> {
    principal.require(&[Role::Admin])?;
    let section = Section::parse(&section).ok_or(ApiError::NotFound)?;
    let defaults = state.settings.defaults().clone();
    let (saved, _) = state.store.load::<Settings>(SETTINGS_ID).await?;
    let values = section_values(section, &saved.effective(&defaults), body)?;
    let meta = metadata(Some(&principal), &context);
    let committed = state
        .store
        .execute::<Settings>(
            SETTINGS_ID,
            SettingsCommand::Change { values, defaults },
            expected,
            &meta,
        )
        .await?;
    // In force here at once; elsewhere within a second.
    if let Err(error) = state.settings.refresh(&state.store).await {
        tracing::warn!(%error, "saved settings not yet read back");
    }
    let values = committed.aggregate.effective(state.settings.defaults());
    Ok(respond(
        settings_view(&values, &committed.aggregate, committed.version, true),
        committed.version,
    ))
}
