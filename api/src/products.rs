//! The product catalogue: admins define, reprice and retire products; every
//! signed-in user can browse it.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use domain::product::{Line, NewProduct, Product, ProductCommand, ProductError, ProductStatus};
use domain::{Currency, Money, ProductId, Role};
use projections::read_models::products::{self, ProductFilter, ProductRow};
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::auth::principal::Principal;
use crate::error::ApiError;
use crate::extract::{
    decimal_string, optional_decimal_string, IdPath, IfMatch, JsonBody, OptionalJsonBody,
    QueryParams,
};
use crate::pagination::{Page, PageQuery};
use crate::request_context::RequestContext;
use crate::state::AppState;
use crate::views::money;
use crate::writes::{metadata, respond_current, respond_to_command, ResourceRow, ResourceView};
use projections::{CommandMetadata, Committed, EventStore, UniqueClaim};
use sqlx::PgPool;

/// The product routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/policies/products", post(define).get(list))
        .route("/policies/products/{id}", get(show))
        .route("/policies/products/{id}/reprice", post(reprice))
        .route("/policies/products/{id}/commission", post(set_commission))
        .route("/policies/products/{id}/retire", post(retire))
}

/// A product as the API shows it.
pub fn product_view(row: &ProductRow) -> Value {
    json!({
        "id": row.id,
        "code": row.code,
        "name": row.name,
        "line": row.line,
        "description": row.description,
        "currency": row.currency,
        "rate": row.rate.to_string(),
        "minimum_premium": money(row.minimum_premium, &row.currency),
        "sum_insured_min": money(row.sum_insured_min, &row.currency),
        "sum_insured_max": money(row.sum_insured_max, &row.currency),
        "term_months": row.term_months,
        "status": row.status,
        "retired_reason": row.retired_reason,
        "commission_rate": row.commission_rate.to_string(),
        "version": row.version,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
    })
}

#[derive(Deserialize)]
struct DefineRequest {
    code: String,
    name: String,
    line: Line,
    #[serde(default)]
    description: String,
    currency: Currency,
    #[serde(deserialize_with = "decimal_string")]
    rate: Decimal,
    minimum_premium: Money,
    sum_insured_min: Money,
    sum_insured_max: Money,
    term_months: u32,
    #[serde(default, deserialize_with = "optional_decimal_string")]
    commission_rate: Option<Decimal>,
}

#[tracing::instrument(skip_all)]
async fn define(
    State(state): State<AppState>,
    principal: Principal,
    context: RequestContext,
    JsonBody(body): JsonBody<DefineRequest>,
) -> Result<Response, ApiError> {
    principal.require(&[Role::Admin])?;
    let new = NewProduct {
        code: body.code.trim().to_string(),
        name: body.name,
        line: body.line,
        description: body.description,
        currency: body.currency,
        rate: body.rate,
        minimum_premium: body.minimum_premium,
        sum_insured_min: body.sum_insured_min,
        sum_insured_max: body.sum_insured_max,
        term_months: body.term_months,
        commission_rate: body.commission_rate.unwrap_or_default(),
    };
    let meta = metadata(Some(&principal), &context);
    let (id, committed) = define_product(&state.store, new, &meta).await?;
    respond_to_command::<ProductRow>(&state, id.0, &committed, StatusCode::CREATED).await
}

/// Adds a product to the catalogue, reserving its code (unique across
/// products) in the same statement as its first event. Shared by the API
/// and demo seeding.
///
/// # Errors
/// `409 code_taken`, `422` for invalid terms, `500`.
pub async fn define_product(
    store: &EventStore,
    new: NewProduct,
    metadata: &CommandMetadata,
) -> Result<(ProductId, Committed<Product>), ApiError> {
    let id = ProductId::new();
    let claim = UniqueClaim {
        kind: "product_code",
        value: new.code.clone(),
    };
    let committed = store
        .execute_new_claiming::<Product>(
            &id.to_string(),
            ProductCommand::DefineProduct(new),
            vec![claim],
            metadata,
        )
        .await?;
    Ok((id, committed))
}

#[derive(Deserialize)]
struct ListQuery {
    status: Option<String>,
    line: Option<Line>,
    currency: Option<Currency>,
    #[serde(flatten)]
    page: PageQuery,
}

async fn list(
    State(state): State<AppState>,
    _principal: Principal,
    QueryParams(query): QueryParams<ListQuery>,
) -> Result<Json<Page<Value>>, ApiError> {
    let page = query.page.parse()?;
    if let Some(status) = &query.status {
        if status != "active" && status != "retired" {
            return Err(ApiError::invalid("status", "must be active or retired"));
        }
    }
    let filter = ProductFilter {
        status: query.status,
        line: query.line.map(|l| l.as_str().to_string()),
        currency: query.currency.map(|c| c.code().to_string()),
    };
    let rows = products::list(&state.pool, &filter, page.after, page.limit + 1).await?;
    Ok(Json(Page::from_rows(
        rows,
        page,
        |r| r.id,
        |r| product_view(&r),
    )))
}

async fn show(
    State(state): State<AppState>,
    _principal: Principal,
    IdPath(id): IdPath,
) -> Result<Response, ApiError> {
    respond_current::<ProductRow>(&state, id, StatusCode::OK).await
}

#[derive(Deserialize)]
struct RepriceRequest {
    #[serde(deserialize_with = "decimal_string")]
    rate: Decimal,
    minimum_premium: Money,
}

#[derive(Deserialize)]
struct CommissionRequest {
    #[serde(deserialize_with = "decimal_string")]
    rate: Decimal,
}

#[derive(Deserialize, Default)]
struct RetireRequest {
    reason: Option<String>,
}

#[tracing::instrument(skip_all, fields(product_id = %id))]
async fn reprice(
    State(state): State<AppState>,
    principal: Principal,
    context: RequestContext,
    IdPath(id): IdPath,
    IfMatch(expected): IfMatch,
    JsonBody(body): JsonBody<RepriceRequest>,
) -> Result<Response, ApiError> {
    let command = ProductCommand::Reprice {
        rate: body.rate,
        minimum_premium: body.minimum_premium,
    };
    run(&state, &principal, &context, id, expected, command).await
}

/// `POST /policies/products/{id}/commission {rate}`: the commission its
/// agents earn on premium paid from today's business date.
#[tracing::instrument(skip_all, fields(product_id = %id))]
async fn set_commission(
    State(state): State<AppState>,
    principal: Principal,
    context: RequestContext,
    IdPath(id): IdPath,
    IfMatch(expected): IfMatch,
    JsonBody(body): JsonBody<CommissionRequest>,
) -> Result<Response, ApiError> {
    let command = ProductCommand::SetCommissionRate { rate: body.rate };
    run(&state, &principal, &context, id, expected, command).await
}

#[tracing::instrument(skip_all, fields(product_id = %id))]
async fn retire(
    State(state): State<AppState>,
    principal: Principal,
    context: RequestContext,
    IdPath(id): IdPath,
    IfMatch(expected): IfMatch,
    OptionalJsonBody(body): OptionalJsonBody<RetireRequest>,
) -> Result<Response, ApiError> {
    let reason = body
        .reason
        .map(|r| r.trim().to_string())
        .filter(|r| !r.is_empty());
    run(
        &state,
        &principal,
        &context,
        id,
        expected,
        ProductCommand::Retire { reason },
    )
    .await
}

async fn run(
    state: &AppState,
    principal: &Principal,
    context: &RequestContext,
    id: Uuid,
    expected: Option<u64>,
    command: ProductCommand,
) -> Result<Response, ApiError> {
    principal.require(&[Role::Admin])?;
    let meta = metadata(Some(principal), context);
    let committed = state
        .store
        .execute::<Product>(&id.to_string(), command, expected, &meta)
        .await?;
    respond_to_command::<ProductRow>(state, id, &committed, StatusCode::OK).await
}

impl ResourceRow for ProductRow {
    type Aggregate = Product;
    const PROJECTION: &'static str = "products";

    async fn read(pool: &PgPool, id: Uuid) -> Result<Option<Self>, sqlx::Error> {
        products::get(pool, id).await
    }

    fn version(&self) -> i64 {
        self.version
    }

    fn from_aggregate(
        id: Uuid,
        product: &Product,
        version: i64,
        created_at: DateTime<Utc>,
        updated_at: DateTime<Utc>,
    ) -> Result<Self, ApiError> {
        let terms = product.terms.as_ref().ok_or(ApiError::NotFound)?;
        Ok(ProductRow {
            id,
            code: terms.code.clone(),
            name: terms.name.clone(),
            line: terms.line.as_str().to_string(),
            description: terms.description.clone(),
            currency: terms.currency().code().to_string(),
            rate: terms.rate,
            minimum_premium: terms.minimum_premium.amount(),
            sum_insured_min: terms.sum_insured_min.amount(),
            sum_insured_max: terms.sum_insured_max.amount(),
            term_months: terms.term_months as i32,
            status: match product.status {
                ProductStatus::Retired => "retired",
                _ => "active",
            }
            .to_string(),
            retired_reason: product.retired_reason.clone(),
            commission_rate: terms.commission_rate,
            version,
            created_at,
            updated_at,
        })
    }
}

impl ResourceView for ProductRow {
    fn view(&self) -> Value {
        product_view(self)
    }
}

impl From<ProductError> for ApiError {
    fn from(error: ProductError) -> Self {
        match error {
            ProductError::Validation(errors) => ApiError::Validation(errors),
            ProductError::NotFound => ApiError::NotFound,
            ProductError::AlreadyDefined => ApiError::Conflict {
                code: "already_defined",
                detail: error.to_string(),
            },
            ProductError::Retired => ApiError::invalid_transition("the product is retired"),
        }
    }
}
