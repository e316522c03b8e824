//! The dashboard: the role's figures of `GET /reports/dashboard`, each a
//! link to the list behind it.

use axum::response::Response;
use serde_json::json;

use crate::console::context::Console;
use crate::error::ApiError;

pub async fn dashboard(console: Console) -> Result<Response, ApiError> {
    let reply = console.get("/reports/dashboard").await?;
    if !reply.ok() {
        return Ok(console.refused(&reply));
    }
    Ok(console.render(
        "dashboard.html",
        json!({"section": "/dashboard", "figures": reply.body}),
    ))
}
