//! Notifications: the messages sent to the viewer (customers, agents), or
//! every message sent (staff, admins), with their subject, channel and
//! status.

use axum::extract::RawQuery;
use domain::Role;
use serde_json::json;

use super::{filters, listing, Page};
use crate::console::context::Console;

/// The statuses and channels a list filters by.
const STATUSES: [&str; 5] = ["queued", "sent", "delivered", "failed", "dead"];
const CHANNELS: [&str; 2] = ["email", "sms"];

pub async fn list(console: Console, RawQuery(query): RawQuery) -> Page {
    let everyone = matches!(console.viewer.role, Role::Staff | Role::Admin);
    console.require(&[Role::Customer, Role::Agent, Role::Staff, Role::Admin])?;
    let (query, shown) = filters(query.as_deref(), &["status", "channel"]);
    let path = if everyone {
        "/notifications"
    } else {
        "/me/notifications"
    };
    let body = console.read(&format!("{path}?{query}")).await?;
    Ok(console.render(
        "notifications.html",
        json!({
            "section": "/notifications",
            "list": listing(&body, &shown),
            "everyone": everyone,
            "statuses": STATUSES,
            "channels": CHANNELS,
        }),
    ))
}
