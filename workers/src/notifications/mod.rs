//! Notifications: what each event tells whom ([`facts`]), the templates
//! that say it ([`templates`]), the subscription that renders and logs each
//! message exactly once ([`planner`]), and the worker that sends them
//! through the Integrations Center's providers or the sandbox outbox
//! ([`sender`]).

pub mod facts;
pub mod planner;
pub mod sender;
pub mod templates;

use secrecy::{ExposeSecret, SecretString};
use uuid::Uuid;

/// The link in `user_id`'s emails that stops their reminders without a
/// login (the API's `/unsubscribe`): their id signed with `secret`.
pub fn unsubscribe_url(public_base_url: &str, secret: &SecretString, user_id: Uuid) -> String {
    let token =
        domain::notifications::unsubscribe_token(secret.expose_secret().as_bytes(), user_id);
    format!("{public_base_url}/api/v1/unsubscribe?token={token}")
}
