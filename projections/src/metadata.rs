//! Who and why: the metadata every event carries.

use std::collections::HashMap;

use uuid::Uuid;

/// The metadata key of the business date an event happened on (the
/// clock's date when its command was decided, stamped by the event store):
/// the date reports count a payment, refund or claim movement on.
pub const BUSINESS_DATE: &str = "business_date";

/// The context of one command, recorded in each event it appends.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CommandMetadata {
    /// The acting user, if any (none for a provider webhook).
    pub user_id: Option<Uuid>,
    /// The acting user's role, or `system` / `provider`.
    pub role: String,
    /// The HTTP request (or job) that carried the command.
    pub request_id: String,
    /// The business flow this command belongs to.
    pub correlation_id: String,
    /// The message (request or event id) that directly caused it.
    pub causation_id: String,
    /// The client's IP, for API commands.
    pub client_ip: Option<String>,
    /// The provider's delivery id, for webhook-caused commands.
    pub provider_event_id: Option<String>,
}

impl CommandMetadata {
    /// Metadata for a command issued by the system itself (CLI, seeding,
    /// scheduled jobs): its own request, flow and cause.
    pub fn system(reason: &str) -> Self {
        let id = Uuid::now_v7().to_string();
        Self {
            user_id: None,
            role: "system".into(),
            request_id: format!("{reason}:{id}"),
            correlation_id: id.clone(),
            causation_id: id,
            client_ip: None,
            provider_event_id: None,
        }
    }

    /// The flat map cqrs-es stores.
    pub fn to_map(&self) -> HashMap<String, String> {
        let mut map = HashMap::from([
            ("role".to_string(), self.role.clone()),
            ("request_id".to_string(), self.request_id.clone()),
            ("correlation_id".to_string(), self.correlation_id.clone()),
            ("causation_id".to_string(), self.causation_id.clone()),
        ]);
        if let Some(user_id) = self.user_id {
            map.insert("user_id".into(), user_id.to_string());
        }
        if let Some(ip) = &self.client_ip {
            map.insert("client_ip".into(), ip.clone());
        }
        if let Some(id) = &self.provider_event_id {
            map.insert("provider_event_id".into(), id.clone());
        }
        map
    }
}
