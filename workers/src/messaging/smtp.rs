//! SMTP through `lettre`: STARTTLS on 587 (default), implicit TLS on 465
//! (`settings.tls = "tls"`), or plain for a relay on a private network
//! (`"none"`). Each send and connection test is written to the
//! integration log like an HTTP call (recipient, subject, the server's
//! reply; never the password).

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use lettre::message::header::{Header, HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use projections::integration_log::NewEntry;
use serde_json::json;
use uuid::Uuid;

use super::{Email, EmailSender, Sent};
use crate::integrations::redact::Secrets;
use crate::integrations::{CallRecorder, ProviderConfig, ProviderError};

/// The SMTP adapter.
pub struct Smtp {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    host: String,
    config_id: Uuid,
    recorder: Arc<dyn CallRecorder>,
    secrets: Secrets,
}

fn rejected(e: impl std::fmt::Display) -> ProviderError {
    ProviderError::Rejected(e.to_string())
}

impl Smtp {
    /// The adapter of `config`.
    ///
    /// # Errors
    /// `Rejected` without a host or sender, or with an unknown `tls` mode.
    pub fn from_config(
        config: &ProviderConfig,
        recorder: Arc<dyn CallRecorder>,
    ) -> Result<Self, ProviderError> {
        let host = config.require("host")?.to_string();
        let mode = config.value("tls").unwrap_or("starttls");
        let default_port = if mode == "tls" { 465 } else { 587 };
        let port = match config.value("port") {
            Some(port) => port
                .parse()
                .map_err(|_| rejected(format!("SMTP port {port} is not a number")))?,
            None => default_port,
        };
        let builder = match mode {
            "starttls" => {
                AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&host).map_err(rejected)?
            }
            "tls" => AsyncSmtpTransport::<Tokio1Executor>::relay(&host).map_err(rejected)?,
            "none" => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&host),
            other => {
                return Err(rejected(format!(
                    "SMTP tls must be starttls, tls or none, not {other}"
                )))
            }
        };
        let mut builder = builder.port(port).timeout(Some(Duration::from_secs(20)));
        if let (Some(user), Some(password)) = (config.value("username"), config.value("password")) {
            builder = builder.credentials(Credentials::new(user.to_string(), password.to_string()));
        }
        let from = config
            .require("from")?
            .parse::<Mailbox>()
            .map_err(|e| rejected(format!("SMTP from is not an address: {e}")))?;
        Ok(Self {
            transport: builder.build(),
            from,
            host,
            config_id: config.id,
            recorder,
            secrets: config.secrets(),
        })
    }

    async fn log(
        &self,
        action: &str,
        request: serde_json::Value,
        started: Instant,
        result: &Result<(u16, String), lettre::transport::smtp::Error>,
        reference: Option<&str>,
    ) {
        let (status, response, ok, error) = match result {
            Ok((code, message)) => (
                Some(*code),
                Some(json!({"code": code, "message": message})),
                true,
                None,
            ),
            Err(error) => {
                let text = self.secrets.text(&error.to_string());
                (
                    error.status().map(u16::from),
                    None,
                    error.is_permanent(),
                    Some(text),
                )
            }
        };
        self.recorder
            .record(NewEntry {
                config_id: Some(self.config_id),
                provider: "smtp".into(),
                action: action.into(),
                request,
                response,
                status,
                ok,
                latency_ms: i32::try_from(started.elapsed().as_millis()).unwrap_or(i32::MAX),
                reference_type: reference.map(|_| "notification".to_string()),
                reference_id: reference.map(str::to_string),
                error,
            })
            .await;
    }
}

fn failure(error: &lettre::transport::smtp::Error, secrets: &Secrets) -> ProviderError {
    let text = secrets.text(&error.to_string());
    if error.is_permanent() {
        ProviderError::Rejected(text)
    } else {
        ProviderError::Unavailable(text)
    }
}

/// `List-Unsubscribe: <url>`.
#[derive(Debug, Clone)]
struct ListUnsubscribe(String);

impl Header for ListUnsubscribe {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("List-Unsubscribe")
    }

    fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(Self(s.to_string()))
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), self.0.clone())
    }
}

/// `List-Unsubscribe-Post: List-Unsubscribe=One-Click`.
#[derive(Debug, Clone)]
struct ListUnsubscribePost;

impl Header for ListUnsubscribePost {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("List-Unsubscribe-Post")
    }

    fn parse(_: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(Self)
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), super::ONE_CLICK.to_string())
    }
}

#[async_trait]
impl EmailSender for Smtp {
    fn name(&self) -> &'static str {
        "smtp"
    }

    #[tracing::instrument(skip_all, fields(reference = %email.reference))]
    async fn send(&self, email: &Email) -> Result<Sent, ProviderError> {
        let to = email
            .to
            .parse::<Mailbox>()
            .map_err(|e| rejected(format!("{} is not an address: {e}", email.to)))?;
        let message_id = format!("<{}@ifinsure>", email.reference);
        let from = match &email.sender {
            Some(sender) => Mailbox::new(
                Some(sender.name.clone()),
                sender
                    .address
                    .parse()
                    .map_err(|e| rejected(format!("{} is not an address: {e}", sender.address)))?,
            ),
            None => self.from.clone(),
        };
        let mut builder = Message::builder()
            .from(from)
            .to(to)
            .subject(email.subject.clone())
            .message_id(Some(message_id.clone()));
        if let Some(reply_to) = email.sender.as_ref().and_then(|s| s.reply_to.as_ref()) {
            let reply_to = reply_to
                .parse::<Mailbox>()
                .map_err(|e| rejected(format!("{reply_to} is not an address: {e}")))?;
            builder = builder.reply_to(reply_to);
        }
        if let Some(url) = &email.unsubscribe_url {
            builder = builder
                .header(ListUnsubscribe(format!("<{url}>")))
                .header(ListUnsubscribePost);
        }
        let message = match &email.html {
            Some(html) => builder.multipart(MultiPart::alternative_plain_html(
                email.text.clone(),
                html.clone(),
            )),
            None => builder.body(email.text.clone()),
        }
        .map_err(rejected)?;
        let started = Instant::now();
        let result = self.transport.send(message).await.map(|r| {
            (
                u16::from(r.code()),
                r.message().collect::<Vec<_>>().join(" "),
            )
        });
        let request = json!({"host": self.host, "to": email.to, "subject": email.subject});
        self.log(
            "smtp.send",
            request,
            started,
            &result,
            Some(&email.reference),
        )
        .await;
        match result {
            Ok(_) => Ok(Sent {
                message_id,
                status: "accepted".into(),
            }),
            Err(error) => Err(failure(&error, &self.secrets)),
        }
    }

    async fn test_connection(&self) -> Result<String, ProviderError> {
        let started = Instant::now();
        let result = self
            .transport
            .test_connection()
            .await
            .map(|_| (250, "connected".to_string()));
        self.log(
            "smtp.connect",
            json!({"host": self.host}),
            started,
            &result,
            None,
        )
        .await;
        match result {
            Ok(_) => Ok(format!(
                "the SMTP server {} accepted the connection",
                self.host
            )),
            Err(error) => Err(failure(&error, &self.secrets)),
        }
    }
}
