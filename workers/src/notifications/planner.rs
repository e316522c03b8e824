//! The notifications subscription: for each event people hear about, the
//! recipient's channels (email, and SMS for the templates that go by SMS
//! when they have a phone number), each message rendered and recorded in
//! the notification log in the subscription's checkpoint transaction. The
//! log's unique key (event, template, channel, recipient) makes a
//! redelivered or replayed event add nothing, so nothing is sent twice.

use std::sync::Arc;

use async_trait::async_trait;
use domain::notifications::Channel;
use domain::user::User;
use projections::notifications::{self, NewNotification};
use projections::subscription::Subscriber;
use projections::{EventStore, StoredEvent};
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;
use sqlx::PgConnection;
use tokio::sync::Notify;
use uuid::Uuid;

use super::facts;
use super::templates::Templates;
use crate::context::WorkerContext;
use crate::follow_up::event_id;

/// The subscription's name.
pub const NAME: &str = "notifications";

/// Plans and renders notifications.
pub struct NotificationPlanner {
    store: EventStore,
    templates: Arc<Templates>,
    wakeup: Arc<Notify>,
    reset_secret: SecretString,
}

impl NotificationPlanner {
    /// The planner of `ctx`'s notifications.
    pub fn new(ctx: &WorkerContext) -> Self {
        Self {
            store: ctx.store.clone(),
            templates: ctx.templates.clone(),
            wakeup: ctx.notification_wakeup.clone(),
            reset_secret: ctx.password_reset_secret.clone(),
        }
    }
}

/// A stable id per (event, template, channel, recipient), so a replay
/// computes the same row.
fn notification_id(event_id: &str, template: &str, channel: &str, recipient: &str) -> Uuid {
    let name = format!("{event_id}/{template}/{channel}/{recipient}");
    Uuid::new_v5(&Uuid::NAMESPACE_OID, name.as_bytes())
}

#[async_trait]
impl Subscriber for NotificationPlanner {
    fn name(&self) -> &str {
        NAME
    }

    fn handles(&self, aggregate_type: &str) -> bool {
        matches!(aggregate_type, "User" | "Policy" | "Invoice" | "Claim")
    }

    async fn handle(&self, conn: &mut PgConnection, event: &StoredEvent) -> anyhow::Result<()> {
        let secret = self.reset_secret.expose_secret().as_bytes();
        let Some(notice) = facts::of(&self.store, event, secret).await? else {
            return Ok(());
        };
        let (user, _) = self
            .store
            .load::<User>(&notice.recipient_id.to_string())
            .await
            .map_err(|e| anyhow::anyhow!("loading user {}: {e}", notice.recipient_id))?;
        let Some(profile) = user.profile.clone() else {
            tracing::warn!(user = %notice.recipient_id, "notification for an unknown user skipped");
            return Ok(());
        };
        let mut data = notice.facts;
        data["recipient"] = json!({"name": profile.full_name});
        let event_id = event_id(event);
        let phone = profile
            .phone_number
            .as_ref()
            .map(|p| p.as_str().to_string());
        let wanted = notice
            .template
            .channels(phone.is_some())
            .into_iter()
            .filter(|channel| user.preferences.allows(notice.template, *channel));
        for channel in wanted {
            let recipient = match channel {
                Channel::Email => profile.email.as_str().to_string(),
                Channel::Sms => phone.clone().unwrap_or_default(),
            };
            let rendered = self
                .templates
                .render(notice.template, channel, &data, None)
                .map_err(|e| anyhow::anyhow!("rendering {}: {e:#}", notice.template.as_str()))?;
            let template = notice.template.as_str();
            let new = NewNotification {
                id: notification_id(&event_id, template, channel.as_str(), &recipient),
                event_id: &event_id,
                template,
                channel: channel.as_str(),
                recipient_id: Some(notice.recipient_id),
                recipient: &recipient,
                subject: rendered.subject.as_deref(),
                body_text: &rendered.text,
                body_html: rendered.html.as_deref(),
                correlation_id: event.metadata_str("correlation_id").unwrap_or_default(),
            };
            if notifications::insert(conn, &new).await? {
                self.wakeup.notify_one();
            }
        }
        Ok(())
    }
}
