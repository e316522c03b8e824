//! Claim documents: upload (multipart, field `file`, at most 10 MiB, type
//! decided by content), download (streamed), and the claim summary PDF.

use axum::body::Body;
use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use domain::claim::files::{content_type_of, sanitize_filename, MAX_DOCUMENT_BYTES};
use domain::claim::{Claim, ClaimCommand, Document};
use domain::{DocumentId, Role, UserId};
use serde_json::json;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::{is_staff, visible};
use crate::acting_for::{execute_for, Target};
use crate::auth::principal::Principal;
use crate::documents::{grouped, person, serve, Document as Printable};
use crate::error::ApiError;
use crate::extract::IdPath;
use crate::request_context::RequestContext;
use crate::state::AppState;
use crate::writes::{await_read_model, metadata};

fn too_large() -> ApiError {
    ApiError::PayloadTooLarge {
        limit: MAX_DOCUMENT_BYTES,
    }
}

/// The bytes and name of the multipart field `file`.
async fn read_file(mut multipart: Multipart) -> Result<(Vec<u8>, String), ApiError> {
    let malformed = |e: axum::extract::multipart::MultipartError| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            too_large()
        } else {
            ApiError::BadRequest {
                code: "malformed_multipart",
                detail: e.body_text(),
            }
        }
    };
    while let Some(mut field) = multipart.next_field().await.map_err(malformed)? {
        if field.name() != Some("file") {
            continue;
        }
        let name = field.file_name().unwrap_or("document").to_string();
        let mut bytes = Vec::new();
        while let Some(chunk) = field.chunk().await.map_err(malformed)? {
            if bytes.len() + chunk.len() > MAX_DOCUMENT_BYTES {
                return Err(too_large());
            }
            bytes.extend_from_slice(&chunk);
        }
        return Ok((bytes, name));
    }
    Err(ApiError::invalid(
        "file",
        "send the document in the multipart field `file`",
    ))
}

#[tracing::instrument(skip_all, fields(claim_id = %id))]
pub(super) async fn upload(
    State(state): State<AppState>,
    principal: Principal,
    context: RequestContext,
    IdPath(id): IdPath,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Response, ApiError> {
    principal.require(&[Role::Customer, Role::Agent, Role::Staff, Role::Admin])?;
    let customer_id = visible(&state, &principal, id)
        .await?
        .state
        .details
        .map(|d| d.customer_id.0)
        .ok_or(ApiError::NotFound)?;
    let multipart = multipart.map_err(|_| {
        ApiError::UnsupportedFile(
            "send the document as multipart/form-data in the field `file`".into(),
        )
    })?;
    let (bytes, name) = read_file(multipart).await?;
    let content_type = content_type_of(&bytes).ok_or_else(|| {
        ApiError::UnsupportedFile(
            "only PDF, JPEG and PNG files are accepted (judged by their content)".into(),
        )
    })?;
    let document_id = DocumentId::new();
    let filename = sanitize_filename(&name, content_type);
    let sha256 = domain::signatures::hex(&Sha256::digest(&bytes));
    let storage_key = format!("claims/{id}/{document_id}");
    let size = bytes.len() as u64;
    let store_failed = |e: String| ApiError::Unavailable(format!("the document store failed: {e}"));
    let (store, documents) = state
        .documents
        .for_new()
        .await
        .map_err(|e| store_failed(format!("{e:#}")))?;
    documents
        .put(&storage_key, bytes)
        .await
        .map_err(|e| store_failed(e.to_string()))?;
    let document = Document {
        document_id,
        filename: filename.clone(),
        content_type: content_type.to_string(),
        size,
        sha256: sha256.clone(),
        storage_key: storage_key.clone(),
        store,
        uploaded_by: UserId(principal.user_id),
    };
    let meta = metadata(Some(&principal), &context);
    let attached = execute_for::<Claim>(
        &state,
        &principal,
        customer_id,
        Target::Existing(&id.to_string(), None),
        ClaimCommand::AttachDocument(document),
        &meta,
        || ApiError::NotFound,
    )
    .await;
    let committed = match attached {
        Ok(committed) => committed,
        Err(refused) => {
            // Refused (a closed claim): nothing of it stays in the store.
            if let Err(error) = documents.delete(&storage_key).await {
                tracing::warn!(%error, key = %storage_key, "could not remove a refused document");
            }
            return Err(refused);
        }
    };
    await_read_model(&state, "claims", committed.last_position).await;
    let body = json!({
        "id": document_id, "claim_id": id, "filename": filename,
        "content_type": content_type, "size": size, "sha256": sha256,
    });
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

pub(super) async fn download(
    State(state): State<AppState>,
    principal: Principal,
    Path((id, doc_id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let (Ok(id), Ok(doc_id)) = (id.parse::<Uuid>(), doc_id.parse::<Uuid>()) else {
        return Err(ApiError::NotFound);
    };
    let row = visible(&state, &principal, id).await?;
    let document = row
        .state
        .documents
        .iter()
        .find(|d| d.document_id == DocumentId(doc_id))
        .ok_or(ApiError::NotFound)?;
    let store_failed = |e: String| ApiError::Unavailable(format!("the document store failed: {e}"));
    let file = state
        .documents
        .holding(document.store)
        .await
        .map_err(|e| store_failed(format!("{e:#}")))?
        .get(&document.storage_key)
        .await
        .map_err(|e| store_failed(e.to_string()))?;
    let mut response = Body::from_stream(file.into_stream()).into_response();
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&document.content_type) {
        headers.insert(header::CONTENT_TYPE, value);
    }
    if let Ok(value) =
        HeaderValue::from_str(&format!("attachment; filename=\"{}\"", document.filename))
    {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(document.size));
    headers.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    Ok(response)
}

pub(super) async fn summary(
    State(state): State<AppState>,
    principal: Principal,
    IdPath(id): IdPath,
) -> Result<Response, ApiError> {
    let row = visible(&state, &principal, id).await?;
    let claim = &row.state;
    let details = claim.details.as_ref().ok_or(ApiError::NotFound)?;
    let staff = is_staff(&principal);
    let notes: Vec<serde_json::Value> = claim
        .notes
        .iter()
        .filter(|n| staff || !n.internal)
        .map(|note| {
            let label = if note.internal {
                "Internal note"
            } else {
                "Note"
            };
            json!({"label": label, "text": note.text})
        })
        .collect();
    let payouts: Vec<serde_json::Value> = claim
        .payouts
        .iter()
        .map(|p| {
            json!({"provider": p.provider, "reference": p.provider_reference,
                "status": p.status.as_str(), "amount": p.amount.grouped()})
        })
        .collect();
    let (claimant, claimant_version) = person(&state, details.customer_id.0).await?;
    // Staff see internal notes: theirs is another document.
    let audience = if staff { "staff" } else { "customer" };
    serve(
        &state,
        Printable {
            template: "claim_summary",
            title: format!("Claim summary {}", details.claim_number),
            filename: format!("{}.pdf", details.claim_number),
            key: format!(
                "claims/{id}/v{}-u{claimant_version}-{audience}",
                row.version
            ),
            facts: json!({
                "claim_number": details.claim_number,
                "status": claim.status.as_str().replace('_', " "),
                "policy_number": details.policy_number,
                "claimant": claimant,
                "incident_date": domain::dates::long_date(details.incident_date),
                "filed_on": domain::dates::long_date(details.filed_on),
                "claimed": details.claimed_amount.grouped(),
                "approved": grouped(claim.approved_amount.as_ref()),
                "paid": grouped(claim.paid_amount.as_ref()),
                "documents": claim.documents.len(),
                "description": details.description,
                "rejection_reason": claim.rejection_reason,
                "payouts": payouts,
                "notes": notes,
            }),
        },
    )
    .await
}
