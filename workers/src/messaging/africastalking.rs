//! Africa's Talking SMS: `POST /version1/messaging`, form-encoded, the API
//! key in the `apiKey` header. A recipient's `statusCode` 100–102 means
//! taken (processed, sent, queued); anything else is a refusal (invalid
//! number, blacklisted, insufficient balance...).

use async_trait::async_trait;
use reqwest::Method;

use super::{Sent, Sms, SmsSender};
use crate::integrations::{Answer, Auth, Call, Http, ProviderConfig, ProviderError};

/// The Africa's Talking adapter.
pub struct AfricasTalking {
    http: Http,
    username: String,
    api_key: String,
    from: Option<String>,
}

impl AfricasTalking {
    /// The adapter of `config`.
    ///
    /// # Errors
    /// `Rejected` without a username or API key.
    pub fn from_config(config: &ProviderConfig, http: Http) -> Result<Self, ProviderError> {
        Ok(Self {
            http,
            username: config.require("username")?.to_string(),
            api_key: config.require("api_key")?.to_string(),
            from: config.value("from").map(str::to_string),
        })
    }

    async fn send_call(&self, call: Call) -> Result<Answer, ProviderError> {
        let call = call
            .auth(Auth::Header("apiKey", self.api_key.clone()))
            .header("Accept", "application/json");
        self.http.send(&call).await
    }
}

fn refusal(answer: &Answer) -> ProviderError {
    let text = match &answer.body {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    ProviderError::Rejected(format!("HTTP {}: {text}", answer.status))
}

#[async_trait]
impl SmsSender for AfricasTalking {
    fn name(&self) -> &'static str {
        "africastalking"
    }

    #[tracing::instrument(skip_all, fields(reference = %sms.reference))]
    async fn send(&self, sms: &Sms) -> Result<Sent, ProviderError> {
        let mut form = vec![
            ("username", self.username.clone()),
            ("to", sms.to.clone()),
            ("message", sms.body.clone()),
        ];
        if let Some(from) = &self.from {
            form.push(("from", from.clone()));
        }
        let call = Call::new("sms.send", Method::POST, "/version1/messaging")
            .form(form)
            .reference("notification", &sms.reference);
        let answer = self.send_call(call).await?;
        if !answer.status.is_success() {
            return Err(refusal(&answer));
        }
        let recipient = &answer.body["SMSMessageData"]["Recipients"][0];
        let code = recipient["statusCode"].as_i64().unwrap_or_default();
        let status = recipient["status"].as_str().unwrap_or_default().to_string();
        if !(100..=102).contains(&code) {
            let why = answer.body["SMSMessageData"]["Message"]
                .as_str()
                .unwrap_or("no recipient accepted");
            return Err(ProviderError::Rejected(format!("{status} ({code}): {why}")));
        }
        let message_id = recipient["messageId"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        Ok(Sent { message_id, status })
    }

    async fn test_connection(&self) -> Result<String, ProviderError> {
        let path = format!("/version1/user?username={}", self.username);
        let answer = self
            .send_call(Call::new("user.fetch", Method::GET, path))
            .await?;
        if !answer.status.is_success() {
            return Err(refusal(&answer));
        }
        let balance = answer.body["UserData"]["balance"].as_str().unwrap_or("?");
        Ok(format!(
            "Africa's Talking accepted the API key (balance {balance})"
        ))
    }
}
