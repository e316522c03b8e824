//! Messaging: text messages (Africa's Talking, Twilio) and email (SendGrid,
//! SMTP), one adapter per provider behind one interface per channel, built
//! from the primary enabled configuration of the channel's category. The
//! notification worker sends through these.

pub mod africastalking;
pub mod sendgrid;
pub mod smtp;
pub mod twilio;

use std::sync::Arc;

use async_trait::async_trait;
use domain::integration::catalogue::Category;

use crate::context::WorkerContext;
use crate::integrations::{config, ProviderConfig, ProviderError};

/// A text message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sms {
    /// E.164 number (`+254712345678`).
    pub to: String,
    /// The text.
    pub body: String,
    /// What it is for (a notification id), for the integration log.
    pub reference: String,
}

/// An email.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email {
    /// Recipient address.
    pub to: String,
    /// Subject line.
    pub subject: String,
    /// Plain-text body.
    pub text: String,
    /// HTML body, if any.
    pub html: Option<String>,
    /// What it is for (a notification id), for the integration log.
    pub reference: String,
    /// The recipient's unsubscribe link, sent as `List-Unsubscribe` with
    /// `List-Unsubscribe-Post: List-Unsubscribe=One-Click` (RFC 8058), so
    /// mail clients can offer their own unsubscribe button.
    pub unsubscribe_url: Option<String>,
    /// Who it is from (the email settings); `None`: the sender of the
    /// provider's configuration.
    pub sender: Option<Sender>,
}

/// Who an email is from, and where replies go (the email settings).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sender {
    /// The sender's name.
    pub name: String,
    /// The sender's address.
    pub address: String,
    /// Where replies go, when not to the sender.
    pub reply_to: Option<String>,
}

impl Sender {
    /// The sender of the email settings `email`.
    pub fn of(email: &domain::settings::EmailSettings) -> Self {
        Self {
            name: email.from_name.clone(),
            address: email.from_address.clone(),
            reply_to: email.reply_to.clone(),
        }
    }
}

/// The value of `List-Unsubscribe-Post` (RFC 8058).
pub const ONE_CLICK: &str = "List-Unsubscribe=One-Click";

/// What the provider said when it took a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    /// The provider's id of the message.
    pub message_id: String,
    /// The provider's status word (`Success`, `queued`, `accepted`, ...).
    pub status: String,
}

/// A text-message provider adapter.
#[async_trait]
pub trait SmsSender: Send + Sync + 'static {
    /// The provider slug.
    fn name(&self) -> &'static str;

    /// Sends `sms`.
    ///
    /// # Errors
    /// `Rejected` for a refusal (a bad number), `Unavailable` for an outage.
    async fn send(&self, sms: &Sms) -> Result<Sent, ProviderError>;

    /// Calls the provider's cheapest authenticated endpoint.
    ///
    /// # Errors
    /// As for [`SmsSender::send`].
    async fn test_connection(&self) -> Result<String, ProviderError>;
}

/// An email provider adapter.
#[async_trait]
pub trait EmailSender: Send + Sync + 'static {
    /// The provider slug.
    fn name(&self) -> &'static str;

    /// Sends `email`.
    ///
    /// # Errors
    /// `Rejected` for a refusal, `Unavailable` for an outage.
    async fn send(&self, email: &Email) -> Result<Sent, ProviderError>;

    /// Checks the connection and credentials.
    ///
    /// # Errors
    /// As for [`EmailSender::send`].
    async fn test_connection(&self) -> Result<String, ProviderError>;
}

impl WorkerContext {
    /// The SMS adapter of `config`.
    ///
    /// # Errors
    /// `Rejected` when the provider has no SMS adapter or lacks a field.
    pub fn sms_adapter(
        &self,
        config: &ProviderConfig,
    ) -> Result<Arc<dyn SmsSender>, ProviderError> {
        let http = config.http(self.recorder.clone(), &self.config.egress)?;
        Ok(match config.provider() {
            "africastalking" => {
                Arc::new(africastalking::AfricasTalking::from_config(config, http)?)
            }
            "twilio" => Arc::new(twilio::Twilio::from_config(
                config,
                http,
                &self.config.public_base_url,
            )?),
            other => {
                return Err(ProviderError::Rejected(format!(
                    "ifinsure has no SMS adapter for {other}"
                )))
            }
        })
    }

    /// The email adapter of `config`.
    ///
    /// # Errors
    /// `Rejected` when the provider has no email adapter or lacks a field.
    pub fn email_adapter(
        &self,
        config: &ProviderConfig,
    ) -> Result<Arc<dyn EmailSender>, ProviderError> {
        Ok(match config.provider() {
            "sendgrid" => Arc::new(sendgrid::SendGrid::from_config(
                config,
                config.http(self.recorder.clone(), &self.config.egress)?,
            )?),
            "smtp" => Arc::new(smtp::Smtp::from_config(config, self.recorder.clone())?),
            other => {
                return Err(ProviderError::Rejected(format!(
                    "ifinsure has no email adapter for {other}"
                )))
            }
        })
    }

    /// The primary enabled configuration of `category` (SMS or email).
    ///
    /// # Errors
    /// `Unavailable` when the database fails, `Rejected` when none is
    /// enabled.
    pub async fn primary(&self, category: Category) -> Result<ProviderConfig, ProviderError> {
        config::enabled(&self.pool, &self.vault, category, None)
            .await
            .map_err(|e| ProviderError::Unavailable(e.to_string()))?
            .into_iter()
            .next()
            .ok_or_else(|| {
                ProviderError::Rejected(format!("no {} provider is enabled", category.as_str()))
            })
    }
}

#[cfg(test)]
mod tests;
