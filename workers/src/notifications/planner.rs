//! The notifications subscription: for each event people hear about, the
//! recipient's channels (email, and SMS for the templates that go by SMS
//! when they have a phone number), each message rendered and recorded in
//! the notification log in the subscription's checkpoint transaction;
//! copies for the customer's agent and notices for the staff queue as the
//! template says (`Template::copied_to_agent`, `for_staff_queue`). The
//! log's unique key (event, template, channel, recipient) makes a
//! redelivered or replayed event add nothing, so nothing is sent twice.

use std::sync::Arc;

use async_trait::async_trait;
use domain::notifications::{Channel, Template};
use domain::user::{Profile, User};
use projections::notifications::{self, NewNotification};
use projections::subscription::Subscriber;
use projections::{EventStore, StoredEvent};
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;
use sqlx::PgConnection;
use tokio::sync::Notify;
use uuid::Uuid;

use super::facts;
use super::templates::{Rendered, Templates};
use crate::context::WorkerContext;

/// The subscription's name.
pub const NAME: &str = "notifications";

/// Plans and renders notifications.
pub struct NotificationPlanner {
    store: EventStore,
    templates: Arc<Templates>,
    wakeup: Arc<Notify>,
    reset_secret: SecretString,
    unsubscribe_secret: SecretString,
    public_base_url: String,
    staff_queue: Option<String>,
}

impl NotificationPlanner {
    /// The planner of `ctx`'s notifications.
    pub fn new(ctx: &WorkerContext) -> Self {
        Self {
            store: ctx.store.clone(),
            templates: ctx.templates.clone(),
            wakeup: ctx.notification_wakeup.clone(),
            reset_secret: ctx.password_reset_secret.clone(),
            unsubscribe_secret: ctx.unsubscribe_secret.clone(),
            public_base_url: ctx.config.public_base_url.clone(),
            staff_queue: ctx.config.staff_queue_email.clone(),
        }
    }

    /// The link in `user_id`'s emails that stops their reminders, no login needed.
    fn unsubscribe_url(&self, user_id: Uuid) -> String {
        super::unsubscribe_url(&self.public_base_url, &self.unsubscribe_secret, user_id)
    }

    /// A registered user, or `None` (with a warning) for an unknown id.
    async fn user(&self, id: Uuid) -> anyhow::Result<Option<(User, Profile)>> {
        let (user, _) = self
            .store
            .load::<User>(&id.to_string())
            .await
            .map_err(|e| anyhow::anyhow!("loading user {id}: {e}"))?;
        let Some(profile) = user.profile.clone() else {
            tracing::warn!(user = %id, "notification for an unknown user skipped");
            return Ok(None);
        };
        Ok(Some((user, profile)))
    }
}

/// A stable id per (event, template, channel, recipient), so a replay
/// computes the same row.
fn notification_id(event_id: &str, template: &str, channel: &str, recipient: &str) -> Uuid {
    let name = format!("{event_id}/{template}/{channel}/{recipient}");
    Uuid::new_v5(&Uuid::NAMESPACE_OID, name.as_bytes())
}

/// One message of an event, ready to record.
struct Message {
    template: Template,
    channel: Channel,
    recipient_id: Option<Uuid>,
    recipient: String,
    rendered: Rendered,
}

#[async_trait]
impl Subscriber for NotificationPlanner {
    fn name(&self) -> &str {
        NAME
    }

    fn gives_up_after(&self) -> Option<u32> {
        Some(crate::retry::EVENT_ATTEMPTS)
    }

    fn handles(&self, aggregate_type: &str) -> bool {
        matches!(aggregate_type, "User" | "Policy" | "Invoice" | "Claim")
    }

    async fn handle(&self, conn: &mut PgConnection, event: &StoredEvent) -> anyhow::Result<()> {
        let secret = self.reset_secret.expose_secret().as_bytes();
        let Some(notice) = facts::of(&self.store, event, secret).await? else {
            return Ok(());
        };
        let Some((customer, profile)) = self.user(notice.recipient_id).await? else {
            return Ok(());
        };
        let mut messages = self.for_customer(&notice, &customer, &profile)?;
        let mut data = notice.facts.clone();
        data["customer"] = json!({"name": profile.full_name, "email": profile.email.as_str()});
        if let Some(agent_id) = profile
            .agent_id
            .filter(|_| notice.template.copied_to_agent())
        {
            messages.extend(self.for_agent(notice.template, &data, agent_id.0).await?);
        }
        if let Some(queue) = self
            .staff_queue
            .as_ref()
            .filter(|_| notice.template.for_staff_queue())
        {
            let rendered = self
                .templates
                .render_for_staff(notice.template, &data)
                .map_err(|e| render_error(notice.template, e))?;
            messages.push(Message {
                template: notice.template,
                channel: Channel::Email,
                recipient_id: None,
                recipient: queue.clone(),
                rendered,
            });
        }
        let event_id = event.id();
        let correlation_id = event.metadata_str("correlation_id").unwrap_or_default();
        for message in messages {
            let (template, channel) = (message.template.as_str(), message.channel.as_str());
            let new = NewNotification {
                id: notification_id(&event_id, template, channel, &message.recipient),
                event_id: &event_id,
                template,
                channel,
                recipient_id: message.recipient_id,
                recipient: &message.recipient,
                subject: message.rendered.subject.as_deref(),
                body_text: &message.rendered.text,
                body_html: message.rendered.html.as_deref(),
                correlation_id,
            };
            if notifications::insert(conn, &new).await? {
                self.wakeup.notify_one();
            }
        }
        Ok(())
    }
}

fn render_error(template: Template, error: minijinja::Error) -> anyhow::Error {
    anyhow::anyhow!("rendering {}: {error:#}", template.as_str())
}

impl NotificationPlanner {
    /// The customer's messages: email, and SMS when the template goes by
    /// SMS and they have a phone, each as their preferences allow.
    fn for_customer(
        &self,
        notice: &facts::Notice,
        user: &User,
        profile: &Profile,
    ) -> anyhow::Result<Vec<Message>> {
        let mut data = notice.facts.clone();
        data["recipient"] = json!({"name": profile.full_name});
        let phone = profile
            .phone_number
            .as_ref()
            .map(|p| p.as_str().to_string());
        let unsubscribe = self.unsubscribe_url(notice.recipient_id);
        notice
            .template
            .channels(phone.is_some())
            .into_iter()
            .filter(|channel| user.preferences.allows(notice.template, *channel))
            .map(|channel| {
                let (recipient, link) = match channel {
                    Channel::Email => (
                        profile.email.as_str().to_string(),
                        Some(unsubscribe.as_str()),
                    ),
                    Channel::Sms => (phone.clone().unwrap_or_default(), None),
                };
                let rendered = self
                    .templates
                    .render(notice.template, channel, &data, link)
                    .map_err(|e| render_error(notice.template, e))?;
                Ok(Message {
                    template: notice.template,
                    channel,
                    recipient_id: Some(notice.recipient_id),
                    recipient,
                    rendered,
                })
            })
            .collect()
    }

    /// The agent's copy by email, as the agent's own preferences allow.
    async fn for_agent(
        &self,
        template: Template,
        data: &serde_json::Value,
        agent_id: Uuid,
    ) -> anyhow::Result<Option<Message>> {
        let Some((agent, profile)) = self.user(agent_id).await? else {
            return Ok(None);
        };
        if !agent.preferences.allows(template, Channel::Email) {
            return Ok(None);
        }
        let mut data = data.clone();
        data["recipient"] = json!({"name": profile.full_name});
        let link = self.unsubscribe_url(agent_id);
        let rendered = self
            .templates
            .render_agent_copy(template, &data, Some(&link))
            .map_err(|e| render_error(template, e))?;
        Ok(Some(Message {
            template,
            channel: Channel::Email,
            recipient_id: Some(agent_id),
            recipient: profile.email.as_str().to_string(),
            rendered,
        }))
    }
}
