//! Safaricom M-Pesa (Daraja): premiums by STK push (M-Pesa Express) in
//! whole shillings, confirmed by STK query; claim payouts by B2C; refunds
//! by transaction reversal. Every call carries a cached OAuth token. Daraja
//! signs nothing: its callbacks come to a URL holding this configuration's
//! unguessable token, and a charge's outcome is only recorded after an STK
//! query confirms it. A query before the customer has answered the prompt
//! (`4999`, or HTTP 500 `500.001.1001`) is pending, not a failure and not an
//! outage.

pub mod credential;
pub mod oauth;

use std::sync::Arc;

use async_trait::async_trait;
use chrono::Utc;
use domain::mpesa::{is_being_processed, msisdn, password, stk_query_result};
use projections::payment_jobs::{JobKind, NextAction, Outcome, PaymentJob};
use reqwest::Method;
use serde_json::{json, Value};
use uuid::Uuid;

use super::units::whole_units;
use super::{approve_on_phone, PaymentProvider, ProviderError, Submission};
use crate::integrations::{Answer, Auth, Call, Http, ProviderConfig};
use oauth::TokenCache;

/// Daraja's "invalid access token" error code.
const INVALID_TOKEN: &str = "404.001.03";

/// The M-Pesa adapter of one configuration.
pub struct Mpesa {
    http: Http,
    config_id: Uuid,
    consumer_key: String,
    consumer_secret: String,
    shortcode: String,
    passkey: String,
    transaction_type: String,
    party_b: String,
    initiator_name: Option<String>,
    security_credential: Option<String>,
    b2c_version: String,
    callback_url: String,
    tokens: Arc<TokenCache>,
}

impl Mpesa {
    /// The adapter of `config`, calling back to `public_base_url`.
    ///
    /// # Errors
    /// `Rejected` when a required field is missing or the certificate is
    /// not usable.
    pub fn from_config(
        config: &ProviderConfig,
        http: Http,
        public_base_url: &str,
        tokens: Arc<TokenCache>,
    ) -> Result<Self, ProviderError> {
        let shortcode = config.require("shortcode")?.to_string();
        let token = config.require("callback_token")?;
        let security_credential = match (
            config.value("security_credential"),
            config.value("initiator_password"),
            config.value("certificate"),
        ) {
            (Some(given), _, _) => Some(given.to_string()),
            (None, Some(password), Some(pem)) => {
                let key = credential::public_key(pem).map_err(ProviderError::Rejected)?;
                Some(
                    credential::security_credential(&key, password)
                        .map_err(ProviderError::Rejected)?,
                )
            }
            _ => None,
        };
        Ok(Self {
            config_id: config.id,
            consumer_key: config.require("consumer_key")?.to_string(),
            consumer_secret: config.require("consumer_secret")?.to_string(),
            passkey: config.require("passkey")?.to_string(),
            transaction_type: config
                .value("transaction_type")
                .unwrap_or("CustomerPayBillOnline")
                .to_string(),
            party_b: config
                .value("till_number")
                .unwrap_or(&shortcode)
                .to_string(),
            initiator_name: config.value("initiator_name").map(str::to_string),
            security_credential,
            // v3 is the version Daraja documents (v1 only for old shortcodes).
            b2c_version: config.value("b2c_version").unwrap_or("v3").to_string(),
            callback_url: format!(
                "{}/api/v1/webhooks/daraja?token={token}",
                public_base_url.trim_end_matches('/')
            ),
            shortcode,
            http,
            tokens,
        })
    }

    /// A live OAuth token: the cached one, or a new one.
    async fn token(&self) -> Result<String, ProviderError> {
        if let Some(token) = self.tokens.get(self.config_id, &self.consumer_key) {
            return Ok(token);
        }
        let call = Call::new(
            "oauth.generate",
            Method::GET,
            "/oauth/v1/generate?grant_type=client_credentials",
        )
        .auth(Auth::Basic(
            self.consumer_key.clone(),
            self.consumer_secret.clone(),
        ));
        let answer = self.http.send(&call).await?;
        if !answer.status.is_success() {
            return Err(ProviderError::Rejected(format!(
                "M-Pesa refused the consumer key and secret (HTTP {})",
                answer.status
            )));
        }
        let token = answer.body["access_token"]
            .as_str()
            .ok_or_else(|| ProviderError::Unavailable("M-Pesa sent no access_token".into()))?;
        let lifetime = oauth::expires_in(&answer.body["expires_in"]);
        self.tokens
            .put(self.config_id, &self.consumer_key, token, lifetime);
        Ok(token.to_string())
    }

    /// Sends `call` (made by [`Mpesa::call`]); a refused token is dropped
    /// so the next attempt fetches a new one.
    async fn post(&self, call: Call) -> Result<Value, ProviderError> {
        let answer = self.http.send(&call).await?;
        self.accepted(answer)
    }

    /// A call of `action` posting `body` to `path` with a token.
    async fn call(
        &self,
        action: &'static str,
        path: &str,
        body: Value,
        job: &PaymentJob,
    ) -> Result<Call, ProviderError> {
        Ok(Call::new(action, Method::POST, path)
            .auth(Auth::Bearer(self.token().await?))
            .json(body)
            .reference(job.kind().as_str(), job.id))
    }

    /// Where Daraja reports a request that timed out in its queue: the
    /// callback URL, marked (not a result).
    fn queue_timeout_url(&self) -> String {
        format!("{}&timeout=1", self.callback_url)
    }

    fn accepted(&self, answer: Answer) -> Result<Value, ProviderError> {
        if answer.status.is_success() {
            return Ok(answer.body);
        }
        let code = answer.body["errorCode"].as_str().unwrap_or_default();
        let message = answer.body["errorMessage"]
            .as_str()
            .map_or_else(|| format!("HTTP {}", answer.status), str::to_string);
        if code == INVALID_TOKEN {
            self.tokens.forget(self.config_id, &self.consumer_key);
            return Err(ProviderError::Unavailable(format!(
                "M-Pesa refused its token: {message}"
            )));
        }
        Err(ProviderError::Rejected(
            format!("{code} {message}").trim().to_string(),
        ))
    }

    /// Nairobi time as Daraja's timestamps want it.
    fn timestamp() -> String {
        (Utc::now() + chrono::Duration::hours(3))
            .format("%Y%m%d%H%M%S")
            .to_string()
    }

    fn phone(job: &PaymentJob) -> Result<String, ProviderError> {
        job.payer_contact
            .as_deref()
            .and_then(msisdn)
            .ok_or_else(|| {
                ProviderError::Rejected("M-Pesa needs a Kenyan mobile number (2547XXXXXXXX)".into())
            })
    }

    fn initiator(&self) -> Result<(String, String), ProviderError> {
        match (&self.initiator_name, &self.security_credential) {
            (Some(name), Some(credential)) => Ok((name.clone(), credential.clone())),
            _ => Err(ProviderError::Rejected(
                "M-Pesa payouts and reversals need initiator_name and initiator_password with settings.certificate (or a security_credential)".into(),
            )),
        }
    }

    async fn stk_push(&self, job: &PaymentJob) -> Result<String, ProviderError> {
        let timestamp = Self::timestamp();
        let phone = Self::phone(job)?;
        let body = json!({
            "BusinessShortCode": self.shortcode,
            "Password": password(&self.shortcode, &self.passkey, &timestamp),
            "Timestamp": timestamp,
            "TransactionType": self.transaction_type,
            "Amount": whole_units(job)?,
            "PartyA": phone,
            "PartyB": self.party_b,
            "PhoneNumber": phone,
            "CallBackURL": self.callback_url,
            "AccountReference": short(job.id),
            "TransactionDesc": "Premium",
        });
        // Daraja does not deduplicate a push: a second one is a second
        // prompt on the payer's phone.
        let call = self
            .call("stk_push", "/mpesa/stkpush/v1/processrequest", body, job)
            .await?
            .not_idempotent();
        let answer = self.post(call).await?;
        if answer["ResponseCode"].as_str() != Some("0") {
            let reason = answer["ResponseDescription"].as_str().unwrap_or("refused");
            return Err(ProviderError::Rejected(reason.to_string()));
        }
        answer["CheckoutRequestID"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| {
                ProviderError::Uncertain(
                    "M-Pesa accepted the push without a CheckoutRequestID".into(),
                )
            })
    }

    /// Pays `job`'s amount to its payer's phone by B2C, with `remarks`: a
    /// claim payout, or a refund a reversal cannot carry.
    async fn b2c(&self, job: &PaymentJob, remarks: &str) -> Result<String, ProviderError> {
        let (initiator, credential) = self.initiator()?;
        let mut body = json!({
            "InitiatorName": initiator,
            "SecurityCredential": credential,
            "CommandID": "BusinessPayment",
            "Amount": whole_units(job)?,
            "PartyA": self.shortcode,
            "PartyB": Self::phone(job)?,
            "Remarks": remarks,
            "QueueTimeOutURL": self.queue_timeout_url(),
            "ResultURL": self.callback_url,
        });
        let path = format!("/mpesa/b2c/{}/paymentrequest", self.b2c_version);
        if self.b2c_version == "v1" {
            // v1 takes no id of ours: a repeat is a second payment.
            body["Occasion"] = json!(short(job.aggregate_id));
            let call = self.call("b2c_payment", &path, body, job).await?;
            let answer = self.post(call.not_idempotent()).await?;
            return conversation(&answer).map_err(uncertain_without_id);
        }
        // v3: our OriginatorConversationID (the job's id) keeps a retry from
        // paying twice; v3 spells the field "Occassion".
        body["OriginatorConversationID"] = json!(job.id.to_string());
        body["Occassion"] = json!(short(job.aggregate_id));
        let call = self.call("b2c_payment", &path, body, job).await?;
        match self.post(call).await {
            // Refused as a duplicate: the first request got through. Its
            // result comes back with our id, which is the reference then.
            Err(ProviderError::Rejected(reason)) if reason.to_lowercase().contains("duplicate") => {
                tracing::info!(job = %job.id, %reason, "B2C request already submitted");
                Ok(job.id.to_string())
            }
            Err(error) => Err(error),
            Ok(answer) => conversation(&answer),
        }
    }

    /// A refund: the payment reversed when it is refunded whole and its
    /// M-Pesa receipt is known (a reversal carries only the transaction's
    /// own amount, and names it by the receipt); otherwise paid back to the
    /// payer's phone by B2C (a partial refund, or a payment confirmed by
    /// STK query, which tells no receipt).
    async fn refund(&self, job: &PaymentJob) -> Result<String, ProviderError> {
        match reversible(job) {
            Some(receipt) => self.reversal(job, receipt).await,
            None => self.b2c(job, "Premium refund").await,
        }
    }

    async fn reversal(&self, job: &PaymentJob, receipt: &str) -> Result<String, ProviderError> {
        let (initiator, credential) = self.initiator()?;
        let body = json!({
            "Initiator": initiator,
            "SecurityCredential": credential,
            "CommandID": "TransactionReversal",
            "TransactionID": receipt,
            "Amount": whole_units(job)?,
            "ReceiverParty": self.shortcode,
            // "11" as Daraja's reversal page has it (Safaricom's spelling).
            "RecieverIdentifierType": "11",
            "ResultURL": self.callback_url,
            "QueueTimeOutURL": self.queue_timeout_url(),
            "Remarks": "Premium refund",
            "Occasion": short(job.id),
        });
        // Daraja does not deduplicate a reversal request.
        let call = self
            .call("reversal", "/mpesa/reversal/v1/request", body, job)
            .await?;
        let answer = self.post(call.not_idempotent()).await?;
        conversation(&answer).map_err(uncertain_without_id)
    }
}

/// Twelve characters of `id` (Daraja's AccountReference limit): its last,
/// random, hex digits.
fn short(id: Uuid) -> String {
    id.simple().to_string()[20..].to_uppercase()
}

/// The M-Pesa receipt a refund of `job` can reverse: the payment's, when
/// known (not the CheckoutRequestID an STK query confirmed it by) and the
/// refund is of the whole payment.
fn reversible(job: &PaymentJob) -> Option<&str> {
    let whole = job.original_amount.is_none_or(|paid| paid == job.amount);
    job.original_reference
        .as_deref()
        .filter(|r| whole && is_receipt(r))
}

/// Whether `reference` is an M-Pesa receipt (`NLJ7RT61SV`: ten capitals
/// and digits), not a CheckoutRequestID (`ws_CO_…`).
fn is_receipt(reference: &str) -> bool {
    reference.len() == 10
        && reference
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
}

/// A request that was accepted but named nothing to follow it by: it may
/// have been acted on, so it is not sent again.
fn uncertain_without_id(error: ProviderError) -> ProviderError {
    match error {
        ProviderError::Unavailable(why) => ProviderError::Uncertain(why),
        other => other,
    }
}

fn conversation(answer: &Value) -> Result<String, ProviderError> {
    if answer["ResponseCode"].as_str().is_some_and(|c| c != "0") {
        let reason = answer["ResponseDescription"].as_str().unwrap_or("refused");
        return Err(ProviderError::Rejected(reason.to_string()));
    }
    answer["ConversationID"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| ProviderError::Unavailable("M-Pesa sent no ConversationID".into()))
}

#[async_trait]
impl PaymentProvider for Mpesa {
    fn name(&self) -> &'static str {
        "mpesa"
    }

    #[tracing::instrument(skip_all, fields(job = %job.id, kind = %job.kind))]
    async fn submit(&self, job: &PaymentJob) -> Result<Submission, ProviderError> {
        match job.kind() {
            JobKind::Charge => Ok(Submission::done(self.stk_push(job).await?).then(
                NextAction::ApproveOnPhone {
                    message: approve_on_phone(job),
                },
            )),
            JobKind::Payout => Ok(Submission::done(self.b2c(job, "Claim payout").await?)),
            JobKind::Refund => Ok(Submission::done(self.refund(job).await?)),
        }
    }

    /// A charge's outcome by STK query (payouts and reversals report by
    /// their result callback only).
    async fn status(&self, job: &PaymentJob) -> Result<Option<Outcome>, ProviderError> {
        let (JobKind::Charge, Some(checkout)) = (job.kind(), &job.provider_reference) else {
            return Ok(None);
        };
        let timestamp = Self::timestamp();
        let body = json!({
            "BusinessShortCode": self.shortcode,
            "Password": password(&self.shortcode, &self.passkey, &timestamp),
            "Timestamp": timestamp,
            "CheckoutRequestID": checkout,
        });
        // Before the customer answers, Daraja may say so with an HTTP 500
        // (`500.001.1001`): an answer, not an outage.
        let call = self
            .call("stk_query", "/mpesa/stkpushquery/v1/query", body, job)
            .await?
            .answering(is_being_processed);
        let answer = self.http.send(&call).await?;
        if answer.status.is_server_error() {
            return Ok(None);
        }
        let answer = self.accepted(answer)?;
        let reference = job
            .provider_receipt
            .clone()
            .or_else(|| Some(checkout.clone()));
        let amount = job
            .money()
            .map_err(|e| ProviderError::Rejected(e.to_string()))?;
        Ok(stk_query_result(&answer).map(|(code, desc)| {
            if code.is_success() {
                Outcome::Succeeded { reference, amount }
            } else {
                Outcome::Failed {
                    reference,
                    reason: desc,
                }
            }
        }))
    }

    fn can_serve(&self, job: &PaymentJob) -> bool {
        let phone = job.payer_contact.as_deref().and_then(msisdn).is_some();
        job.currency == "KES"
            && match job.kind() {
                JobKind::Refund => reversible(job).is_some() || phone,
                _ => phone,
            }
    }

    fn deduplicates(&self, job: &PaymentJob) -> bool {
        match job.kind() {
            JobKind::Charge => false,
            JobKind::Refund if reversible(job).is_some() => false,
            JobKind::Refund | JobKind::Payout => self.b2c_version != "v1",
        }
    }

    async fn test_connection(&self) -> Result<String, ProviderError> {
        self.tokens.forget(self.config_id, &self.consumer_key);
        self.token().await?;
        Ok("M-Pesa issued an access token for the consumer key".into())
    }
}

#[cfg(test)]
mod tests;
