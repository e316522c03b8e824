//! Twilio Messaging: `POST /2010-04-01/Accounts/{AccountSid}/Messages.json`,
//! form-encoded, HTTP Basic `AccountSid:AuthToken`. `from` is a number or a
//! Messaging Service (`MG…`). Status callbacks come to
//! `/api/v1/webhooks/twilio`, signed with `X-Twilio-Signature`.

use async_trait::async_trait;
use reqwest::Method;

use super::{Sent, Sms, SmsSender};
use crate::integrations::{Answer, Auth, Call, Http, ProviderConfig, ProviderError};

/// The Twilio adapter.
pub struct Twilio {
    http: Http,
    account_sid: String,
    auth_token: String,
    from: String,
    status_callback: String,
}

impl Twilio {
    /// The adapter of `config`; status callbacks go to `public_base_url`.
    ///
    /// # Errors
    /// `Rejected` without an account SID, auth token or sender.
    pub fn from_config(
        config: &ProviderConfig,
        http: Http,
        public_base_url: &str,
    ) -> Result<Self, ProviderError> {
        Ok(Self {
            http,
            account_sid: config.require("account_sid")?.to_string(),
            auth_token: config.require("auth_token")?.to_string(),
            from: config.require("from")?.to_string(),
            status_callback: format!(
                "{}/api/v1/webhooks/twilio",
                public_base_url.trim_end_matches('/')
            ),
        })
    }

    async fn send_call(&self, call: Call) -> Result<Answer, ProviderError> {
        let call = call.auth(Auth::Basic(
            self.account_sid.clone(),
            self.auth_token.clone(),
        ));
        self.http.send(&call).await
    }
}

fn refusal(answer: &Answer) -> ProviderError {
    let message = answer.body["message"]
        .as_str()
        .map_or_else(|| format!("HTTP {}", answer.status), str::to_string);
    ProviderError::Rejected(match answer.body["code"].as_i64() {
        Some(code) => format!("{message} (Twilio error {code})"),
        None => message,
    })
}

#[async_trait]
impl SmsSender for Twilio {
    fn name(&self) -> &'static str {
        "twilio"
    }

    #[tracing::instrument(skip_all, fields(reference = %sms.reference))]
    async fn send(&self, sms: &Sms) -> Result<Sent, ProviderError> {
        let sender = if self.from.starts_with("MG") {
            "MessagingServiceSid"
        } else {
            "From"
        };
        let path = format!("/2010-04-01/Accounts/{}/Messages.json", self.account_sid);
        let call = Call::new("message.create", Method::POST, path)
            .form([
                ("To", sms.to.clone()),
                (sender, self.from.clone()),
                ("Body", sms.body.clone()),
                ("StatusCallback", self.status_callback.clone()),
            ])
            .reference("notification", &sms.reference);
        let answer = self.send_call(call).await?;
        if !answer.status.is_success() {
            return Err(refusal(&answer));
        }
        Ok(Sent {
            message_id: answer.body["sid"].as_str().unwrap_or_default().to_string(),
            status: answer.body["status"]
                .as_str()
                .unwrap_or("queued")
                .to_string(),
        })
    }

    async fn test_connection(&self) -> Result<String, ProviderError> {
        let path = format!("/2010-04-01/Accounts/{}.json", self.account_sid);
        let answer = self
            .send_call(Call::new("account.fetch", Method::GET, path))
            .await?;
        if !answer.status.is_success() {
            return Err(refusal(&answer));
        }
        let status = answer.body["status"].as_str().unwrap_or("?");
        Ok(format!(
            "Twilio accepted the credentials (account {status})"
        ))
    }
}
