//! The notification worker: claims queued notifications under a lease and
//! sends each through the primary enabled provider of its channel (the
//! Integrations Center), or, with none, the built-in sandbox, which writes
//! the message to the outbox directory for a person to read — except in
//! production, where a message with no provider waits, untried, for one to
//! be enabled (nothing is written to disk). A failure is
//! retried with exponential backoff and jitter; a refusal, or the last
//! attempt, leaves the notification `dead` with its error and a dead letter
//! an admin can re-drive.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use domain::integration::catalogue::Category;
use projections::dead_letters;
use projections::notifications::{self, Notification};
use projections::subscription::Shutdown;

use crate::context::WorkerContext;
use crate::integrations::ProviderError;
use crate::messaging::{Email, EmailSender, Sender, Sent, Sms, SmsSender};
use crate::retry::backoff;

/// Attempts before a notification is dead.
pub const MAX_ATTEMPTS: i32 = 5;
/// Most notifications claimed at once.
const BATCH: i64 = 20;
/// How long a claimed notification is leased.
const LEASE: Duration = Duration::from_secs(60);
/// How long a message nobody can carry waits before it is looked at again.
const NO_CARRIER_WAIT: Duration = Duration::from_secs(300);

/// What one pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pass {
    /// Sent.
    pub sent: usize,
    /// To be tried again.
    pub retried: usize,
    /// Given up on.
    pub dead: usize,
    /// Put back untried: no provider of their channel (production).
    pub waiting: usize,
}

/// Sends the due notifications, once.
///
/// # Errors
/// When the database fails.
#[tracing::instrument(skip_all)]
pub async fn run_once(ctx: &WorkerContext) -> anyhow::Result<Pass> {
    let mut pass = Pass::default();
    let due = notifications::claim_due(&ctx.pool, BATCH, LEASE).await?;
    if due.is_empty() {
        return Ok(pass);
    }
    let sms = carrier(ctx, Category::Sms).await;
    let email = carrier(ctx, Category::Email).await;
    for notification in due {
        let by = if notification.channel == "sms" {
            &sms
        } else {
            &email
        };
        if let Carrier::Nobody = by {
            let why = format!(
                "no {} provider is enabled: it waits for one (Integrations Center)",
                notification.channel
            );
            notifications::postpone(&ctx.pool, notification.id, &why, NO_CARRIER_WAIT).await?;
            pass.waiting += 1;
            continue;
        }
        let (provider, result) = send(ctx, by, &notification).await;
        match result {
            Ok(sent) => {
                notifications::mark_sent(&ctx.pool, notification.id, &provider, &sent.message_id)
                    .await?;
                pass.sent += 1;
            }
            Err(error) => {
                let refused = matches!(error, ProviderError::Rejected(_));
                let dead = refused || notification.attempts >= MAX_ATTEMPTS;
                tracing::warn!(notification = %notification.id, template = %notification.template,
                    %provider, attempts = notification.attempts, dead, %error, "notification not sent");
                let error = error.to_string();
                let wait = backoff(
                    notification.attempts,
                    ctx.config.notification_retry_base,
                    Duration::from_secs(3600),
                );
                notifications::mark_failed(
                    &ctx.pool,
                    notification.id,
                    &provider,
                    &error,
                    wait,
                    dead,
                )
                .await?;
                if dead {
                    dead_letters::record(
                        &ctx.pool,
                        dead_letters::NOTIFICATIONS,
                        notification.id,
                        &notification.event_id,
                        &error,
                        notification.attempts,
                    )
                    .await?;
                    pass.dead += 1;
                } else {
                    pass.retried += 1;
                }
            }
        }
    }
    Ok(pass)
}

/// Who carries one channel's messages during a pass.
enum Carrier {
    /// No provider enabled: the outbox directory.
    Sandbox(PathBuf),
    /// No provider enabled and no outbox (production): nobody.
    Nobody,
    /// The primary enabled SMS provider.
    Sms(&'static str, Arc<dyn SmsSender>),
    /// The primary enabled email provider.
    Email(&'static str, Arc<dyn EmailSender>),
    /// The provider could not be built or looked up.
    Broken(&'static str, ProviderError),
}

/// The carrier of `category`, looked up (and its credentials decrypted)
/// once per pass, not once per message.
async fn carrier(ctx: &WorkerContext, category: Category) -> Carrier {
    let config = match ctx.primary(category).await {
        Ok(config) => config,
        Err(ProviderError::Rejected(_)) => {
            return match &ctx.config.notification_outbox {
                Some(outbox) => Carrier::Sandbox(outbox.clone()),
                None => Carrier::Nobody,
            }
        }
        Err(error) => return Carrier::Broken("unknown", error),
    };
    let provider = config.provider();
    let built = if category == Category::Sms {
        ctx.sms_adapter(&config).map(|a| Carrier::Sms(provider, a))
    } else {
        ctx.email_adapter(&config)
            .map(|a| Carrier::Email(provider, a))
    };
    built.unwrap_or_else(|error| Carrier::Broken(provider, error))
}

/// Sends one notification; the provider's name and what it said.
async fn send(
    ctx: &WorkerContext,
    carrier: &Carrier,
    n: &Notification,
) -> (String, Result<Sent, ProviderError>) {
    let (provider, result) = match carrier {
        Carrier::Sandbox(outbox) => {
            let sender = (n.channel == "email").then(|| Sender::of(&ctx.settings.current().email));
            ("sandbox", sandbox(outbox, n, sender.as_ref()).await)
        }
        // Postponed by `run_once` before it gets here.
        Carrier::Nobody => (
            "none",
            Err(ProviderError::Unavailable("no provider is enabled".into())),
        ),
        Carrier::Broken(provider, error) => (*provider, Err(error.clone())),
        Carrier::Sms(provider, adapter) => {
            let sms = Sms {
                to: n.recipient.clone(),
                body: n.body_text.clone(),
                reference: n.id.to_string(),
            };
            (*provider, adapter.send(&sms).await)
        }
        Carrier::Email(provider, adapter) => {
            let email = Email {
                to: n.recipient.clone(),
                subject: n.subject.clone().unwrap_or_default(),
                text: n.body_text.clone(),
                html: n.body_html.clone(),
                reference: n.id.to_string(),
                unsubscribe_url: n.recipient_id.map(|id| {
                    super::unsubscribe_url(&ctx.config.public_base_url, &ctx.unsubscribe_secret, id)
                }),
                sender: Some(Sender::of(&ctx.settings.current().email)),
            };
            (*provider, adapter.send(&email).await)
        }
    };
    (provider.to_string(), result)
}

/// The sandbox channel: the message as a file in `dir` (`.txt`, and the
/// email's `.html` beside it), an email with its sender.
async fn sandbox(
    dir: &Path,
    n: &Notification,
    sender: Option<&Sender>,
) -> Result<Sent, ProviderError> {
    let unavailable = |e: std::io::Error| ProviderError::Unavailable(format!("outbox: {e}"));
    tokio::fs::create_dir_all(dir).await.map_err(unavailable)?;
    let stem = format!(
        "{}-{}-{}-{}",
        n.created_at.format("%Y%m%dT%H%M%S"),
        n.channel,
        n.template,
        n.id
    );
    let mut text = String::new();
    if let Some(sender) = sender {
        text.push_str(&format!("From: {} <{}>\n", sender.name, sender.address));
        if let Some(reply_to) = &sender.reply_to {
            text.push_str(&format!("Reply-To: {reply_to}\n"));
        }
    }
    text.push_str(&format!("To: {}\n", n.recipient));
    if let Some(subject) = &n.subject {
        text.push_str(&format!("Subject: {subject}\n"));
    }
    text.push('\n');
    text.push_str(&n.body_text);
    text.push('\n');
    let path: PathBuf = dir.join(format!("{stem}.txt"));
    tokio::fs::write(&path, text).await.map_err(unavailable)?;
    if let Some(html) = &n.body_html {
        tokio::fs::write(dir.join(format!("{stem}.html")), html)
            .await
            .map_err(unavailable)?;
    }
    Ok(Sent {
        message_id: stem,
        status: "written".into(),
    })
}

/// Sends whenever woken or every poll interval, until shutdown.
pub async fn run(ctx: WorkerContext, shutdown: Shutdown) {
    loop {
        if let Err(error) = run_once(&ctx).await {
            tracing::warn!(error = format!("{error:#}"), "notification pass failed");
        }
        tokio::select! {
            () = shutdown.wait() => return,
            () = ctx.notification_wakeup.notified() => {}
            () = tokio::time::sleep(ctx.config.payment_poll) => {}
        }
    }
}
