//! Documents the console hands on from the API as they are (PDFs, a
//! claim's uploaded files): certificates, invoices, receipts, claim
//! summaries, documents and statements, each read as the viewer.

use axum::body::Body;
use axum::extract::RawQuery;
use axum::response::{IntoResponse, Response};
use uuid::Uuid;

use super::Page;
use crate::console::client::{passed_on, Call};
use crate::console::context::Console;
use crate::console::errors::Segments;

/// The API's answer for `path`, passed on when it is the file; the page
/// saying why not otherwise.
async fn pass_on(console: &Console, path: String) -> Page {
    pass_on_call(console, Call::get(Some(&console.viewer), path)).await
}

/// The API's answer to `call`, passed on when it succeeds; the page saying
/// why not otherwise.
pub async fn pass_on_call(console: &Console, call: Call<'_>) -> Page {
    let response = console
        .api
        .send(&console.state, &console.outer, call)
        .await
        .map_err(|e| console.fail(&e))?;
    if !response.status().is_success() {
        let status = response.status();
        let reply = crate::console::client::Reply {
            status,
            body: serde_json::Value::Null,
        };
        return Err(console.refused(&reply));
    }
    let headers = passed_on(response.headers());
    let mut passed = Response::new(Body::new(response.into_body()));
    for (name, value) in headers {
        passed.headers_mut().insert(name, value);
    }
    Ok(passed.into_response())
}

pub async fn certificate(console: Console, Segments(id): Segments<Uuid>) -> Page {
    pass_on(&console, format!("/policies/policies/{id}/certificate.pdf")).await
}

pub async fn invoice(console: Console, Segments(id): Segments<Uuid>) -> Page {
    pass_on(&console, format!("/billing/invoices/{id}/invoice.pdf")).await
}

pub async fn receipt(console: Console, Segments(id): Segments<Uuid>) -> Page {
    pass_on(&console, format!("/billing/payments/{id}/receipt.pdf")).await
}

pub async fn claim_summary(console: Console, Segments(id): Segments<Uuid>) -> Page {
    pass_on(&console, format!("/claims/{id}/summary.pdf")).await
}

pub async fn claim_document(
    console: Console,
    Segments((id, document)): Segments<(Uuid, Uuid)>,
) -> Page {
    pass_on(&console, format!("/claims/{id}/documents/{document}")).await
}

pub async fn statement(
    console: Console,
    Segments(id): Segments<Uuid>,
    RawQuery(query): RawQuery,
) -> Page {
    let (query, _) = super::filters(query.as_deref(), &["from", "to"]);
    pass_on(&console, format!("/customers/{id}/statement.pdf?{query}")).await
}
