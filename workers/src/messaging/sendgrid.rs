//! SendGrid v3: `POST /v3/mail/send` with a bearer API key; `202 Accepted`
//! with an empty body, the message id in `X-Message-Id`.

use async_trait::async_trait;
use reqwest::Method;
use serde_json::json;

use super::{Email, EmailSender, Sent};
use crate::integrations::{Answer, Auth, Call, Http, ProviderConfig, ProviderError};

/// The SendGrid adapter.
pub struct SendGrid {
    http: Http,
    api_key: String,
    from: String,
}

impl SendGrid {
    /// The adapter of `config`.
    ///
    /// # Errors
    /// `Rejected` without an API key or sender.
    pub fn from_config(config: &ProviderConfig, http: Http) -> Result<Self, ProviderError> {
        Ok(Self {
            http,
            api_key: config.require("api_key")?.to_string(),
            from: config.require("from")?.to_string(),
        })
    }

    async fn send_call(&self, call: Call) -> Result<Answer, ProviderError> {
        self.http
            .send(&call.auth(Auth::Bearer(self.api_key.clone())))
            .await
    }
}

fn refusal(answer: &Answer) -> ProviderError {
    let messages: Vec<&str> = answer.body["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .filter_map(|e| e["message"].as_str())
                .collect()
        })
        .unwrap_or_default();
    ProviderError::Rejected(if messages.is_empty() {
        format!("HTTP {}", answer.status)
    } else {
        messages.join("; ")
    })
}

#[async_trait]
impl EmailSender for SendGrid {
    fn name(&self) -> &'static str {
        "sendgrid"
    }

    #[tracing::instrument(skip_all, fields(reference = %email.reference))]
    async fn send(&self, email: &Email) -> Result<Sent, ProviderError> {
        let mut content = vec![json!({"type": "text/plain", "value": email.text})];
        if let Some(html) = &email.html {
            content.push(json!({"type": "text/html", "value": html}));
        }
        let mut body = json!({
            "personalizations": [{
                "to": [{"email": email.to}],
                "custom_args": {"reference": email.reference},
            }],
            "from": match &email.sender {
                Some(sender) => json!({"email": sender.address, "name": sender.name}),
                None => json!({"email": self.from}),
            },
            "subject": email.subject,
            "content": content,
        });
        if let Some(reply_to) = email.sender.as_ref().and_then(|s| s.reply_to.as_ref()) {
            body["reply_to"] = json!({"email": reply_to});
        }
        if let Some(url) = &email.unsubscribe_url {
            body["headers"] = json!({
                "List-Unsubscribe": format!("<{url}>"),
                "List-Unsubscribe-Post": super::ONE_CLICK,
            });
        }
        let call = Call::new("mail.send", Method::POST, "/v3/mail/send")
            .json(body)
            .reference("notification", &email.reference);
        let answer = self.send_call(call).await?;
        if !answer.status.is_success() {
            return Err(refusal(&answer));
        }
        let message_id = answer
            .headers
            .get("x-message-id")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        Ok(Sent {
            message_id,
            status: "accepted".into(),
        })
    }

    async fn test_connection(&self) -> Result<String, ProviderError> {
        let answer = self
            .send_call(Call::new("scopes.list", Method::GET, "/v3/scopes"))
            .await?;
        if !answer.status.is_success() {
            return Err(refusal(&answer));
        }
        Ok("SendGrid accepted the API key".into())
    }
}
