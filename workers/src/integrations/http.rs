//! How adapters call providers: one client per adapter with connect and
//! request timeouts, bounded retries on network errors and 5xx answers only
//! (a 4xx is the provider's final word and is never retried; a call the
//! provider does not deduplicate is repeated only when it provably did not
//! reach the provider), and every
//! attempt written to the integration log, redacted. Redirects are never
//! followed; the deployment's [`Egress`] rules decide which base URLs and
//! addresses may receive a call (checked before each call, and on every
//! address a name resolves to, so a name cannot be re-pointed inside), and
//! only the catalogue's own hosts have their answers kept in the log.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use domain::integration::catalogue::{self, Provider};
use domain::integration::egress::{self, Egress};
use projections::integration_log::NewEntry;
use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use uuid::Uuid;

use super::log::CallRecorder;
use super::redact::{Secrets, REDACTED};
use super::ProviderError;

/// Attempts per call (the first and two retries).
pub const ATTEMPTS: u32 = 3;

/// The longest `Retry-After` a call waits for in place; a longer one gives
/// the call up as unavailable, to be retried on the job's schedule.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(5);

/// A `429`'s `Retry-After` in seconds (one second when absent or a date).
fn retry_after(headers: &reqwest::header::HeaderMap) -> Duration {
    headers
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map_or(Duration::from_secs(1), Duration::from_secs)
}

/// How a call authenticates.
#[derive(Debug, Clone)]
pub enum Auth {
    /// Nothing (the credential is in the body or the URL).
    None,
    /// `Authorization: Bearer <token>`.
    Bearer(String),
    /// `Authorization: Basic base64(user:password)`.
    Basic(String, String),
    /// A provider-specific header (`apiKey: …`).
    Header(&'static str, String),
}

/// A request body.
#[derive(Debug, Clone)]
pub enum Body {
    /// None.
    Empty,
    /// `application/json`.
    Json(Value),
    /// `application/x-www-form-urlencoded`, in this order.
    Form(Vec<(String, String)>),
}

/// One call to a provider.
#[derive(Debug, Clone)]
pub struct Call {
    /// What is asked, for the log (`stk_push`, `refund.create`, ...).
    pub action: &'static str,
    /// The method.
    pub method: Method,
    /// Path (and query) below the base URL.
    pub path: String,
    /// Authentication.
    pub auth: Auth,
    /// Other headers (an idempotency key, `Accept`).
    pub headers: Vec<(&'static str, String)>,
    /// The body.
    pub body: Body,
    /// What the call is for: (`payment`, id).
    pub reference: Option<(&'static str, String)>,
    /// Server errors whose body this recognises are answers (a provider's
    /// "still processing" sent as HTTP 500): returned at once, neither
    /// retried nor logged as a failure.
    pub answering: Option<fn(&Value) -> bool>,
    /// Whether the provider deduplicates a repeat of this call (an
    /// idempotency key, our reference, a GET). When it does not, the call
    /// is repeated only after a refused connection, a `429` or a `503`,
    /// which say the request was not acted on.
    pub idempotent: bool,
}

impl Call {
    /// A call of `action` to `method path` with no body and no auth yet.
    pub fn new(action: &'static str, method: Method, path: impl Into<String>) -> Self {
        Self {
            action,
            method,
            path: path.into(),
            auth: Auth::None,
            headers: Vec::new(),
            body: Body::Empty,
            reference: None,
            answering: None,
            idempotent: true,
        }
    }

    /// Not deduplicated by the provider (an STK push, a reversal, a
    /// refund without a key): after an answer that may follow the
    /// provider acting on it (a timeout, a reset, a server error other
    /// than `503`), [`Http::send`] gives up with `Uncertain` instead of
    /// sending it again.
    #[must_use]
    pub fn not_idempotent(mut self) -> Self {
        self.idempotent = false;
        self
    }

    /// With `auth`.
    #[must_use]
    pub fn auth(mut self, auth: Auth) -> Self {
        self.auth = auth;
        self
    }

    /// With a header.
    #[must_use]
    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    /// With a JSON body.
    #[must_use]
    pub fn json(mut self, body: Value) -> Self {
        self.body = Body::Json(body);
        self
    }

    /// With a form body.
    #[must_use]
    pub fn form<K: Into<String>, V: Into<String>>(
        mut self,
        fields: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        self.body = Body::Form(
            fields
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        );
        self
    }

    /// Taking server errors whose body `recognised` accepts as answers.
    #[must_use]
    pub fn answering(mut self, recognised: fn(&Value) -> bool) -> Self {
        self.answering = Some(recognised);
        self
    }

    /// For `kind` `id` (shown in the log).
    #[must_use]
    pub fn reference(mut self, kind: &'static str, id: impl ToString) -> Self {
        self.reference = Some((kind, id.to_string()));
        self
    }
}

/// A provider's answer.
#[derive(Debug, Clone)]
pub struct Answer {
    /// Status.
    pub status: StatusCode,
    /// JSON body (`Null` when empty; a string when not JSON).
    pub body: Value,
    /// Headers (SendGrid's `X-Message-Id`).
    pub headers: HeaderMap,
}

/// The HTTP side of one adapter: its provider, configuration, base URL,
/// secrets to redact, and where calls are logged.
#[derive(Clone)]
pub struct Http {
    client: reqwest::Client,
    /// The provider slug.
    pub provider: &'static str,
    /// The configuration, if any.
    pub config_id: Option<Uuid>,
    base_url: String,
    secrets: Secrets,
    recorder: Arc<dyn CallRecorder>,
    backoff: Duration,
    timeout: Duration,
    egress: Egress,
}

impl Http {
    /// Calls to `base_url` for `provider`, logged to `recorder`, with
    /// `secrets` redacted; 5 s to connect, 20 s per request.
    pub fn new(
        provider: &'static str,
        config_id: Option<Uuid>,
        base_url: &str,
        secrets: Secrets,
        recorder: Arc<dyn CallRecorder>,
    ) -> Self {
        let timeout = Duration::from_secs(20);
        let egress = Egress::default();
        Self {
            client: client(timeout, &egress),
            provider,
            config_id,
            base_url: base_url.trim_end_matches('/').to_string(),
            secrets,
            recorder,
            backoff: Duration::from_millis(200),
            timeout,
            egress,
        }
    }

    /// With another request timeout and retry backoff (tests).
    #[must_use]
    pub fn with_timing(mut self, timeout: Duration, backoff: Duration) -> Self {
        self.timeout = timeout;
        self.client = client(timeout, &self.egress);
        self.backoff = backoff;
        self
    }

    /// Under the deployment's rules of where calls may go.
    #[must_use]
    pub fn with_egress(mut self, egress: Egress) -> Self {
        self.client = client(self.timeout, &egress);
        self.egress = egress;
        self
    }

    fn entry(&self) -> Option<&'static Provider> {
        catalogue::provider(self.provider)
    }

    /// The base URL, if the rules let this provider's calls go there.
    fn allowed(&self) -> Result<(), ProviderError> {
        let Some(entry) = self.entry() else {
            return Ok(());
        };
        self.egress
            .check_base_url(entry, &self.base_url)
            .map_err(|e| ProviderError::Rejected(format!("base_url refused: {e}")))
    }

    fn request(&self, call: &Call) -> reqwest::RequestBuilder {
        let url = format!("{}{}", self.base_url, call.path);
        let mut request = self.client.request(call.method.clone(), url);
        request = match &call.auth {
            Auth::None => request,
            Auth::Bearer(token) => request.bearer_auth(token),
            Auth::Basic(user, password) => request.basic_auth(user, Some(password)),
            Auth::Header(name, value) => request.header(*name, value),
        };
        for (name, value) in &call.headers {
            request = request.header(*name, value);
        }
        match &call.body {
            Body::Empty => request,
            Body::Json(body) => request.json(body),
            Body::Form(fields) => request.form(fields),
        }
    }

    fn logged_request(&self, call: &Call) -> Value {
        let body = match &call.body {
            Body::Empty => Value::Null,
            Body::Json(body) => self.secrets.json(body),
            Body::Form(fields) => self.secrets.json(&Value::Object(
                fields
                    .iter()
                    .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                    .collect(),
            )),
        };
        let headers: serde_json::Map<String, Value> = call
            .headers
            .iter()
            .map(|(name, value)| (name.to_string(), json!(self.secrets.text(value))))
            .chain(match call.auth {
                Auth::None => None,
                Auth::Header(name, _) => Some((name.to_string(), json!(REDACTED))),
                _ => Some(("authorization".to_string(), json!(REDACTED))),
            })
            .collect();
        json!({
            "method": call.method.as_str(),
            "url": self.secrets.text(&format!("{}{}", self.base_url, call.path)),
            "headers": headers,
            "body": body,
        })
    }

    /// Sends `call`, retrying network errors and 5xx with a short backoff,
    /// logging each attempt; returns the first answer below 500. A `429`
    /// is not a refusal: it is retried after the provider's `Retry-After`
    /// when that is short ([`MAX_RETRY_AFTER`]), else given up on as
    /// unavailable, so the job is tried again on its own schedule.
    ///
    /// A call marked [`Call::not_idempotent`] is sent again only after a
    /// refused connection, a `429` or a `503`; any other failure ends it
    /// at once as `Uncertain`.
    ///
    /// # Errors
    /// `Unavailable` when every attempt failed on the network, with a 5xx
    /// or rate limited; `Uncertain` as above.
    pub async fn send(&self, call: &Call) -> Result<Answer, ProviderError> {
        if let Err(refused) = self.allowed() {
            self.log(
                call,
                Duration::ZERO,
                None,
                None,
                false,
                Some(&refused.to_string()),
            )
            .await;
            return Err(refused);
        }
        let mut last = String::new();
        let mut wait: Option<Duration> = None;
        for attempt in 0..ATTEMPTS {
            if attempt > 0 {
                let backoff = self.backoff * 2u32.pow(attempt);
                tokio::time::sleep(wait.take().unwrap_or(backoff)).await;
            }
            let started = Instant::now();
            let result = self.request(call).send().await;
            let latency = started.elapsed();
            match result {
                Ok(response) => {
                    let status = response.status();
                    let headers = response.headers().clone();
                    let bytes = response.bytes().await.unwrap_or_default();
                    let body = parse_body(&bytes);
                    let limited = status == StatusCode::TOO_MANY_REQUESTS;
                    let ok = !(status.is_server_error() || limited)
                        || call.answering.is_some_and(|recognised| recognised(&body));
                    self.log(call, latency, Some(status), Some(&body), ok, None)
                        .await;
                    if limited {
                        let after = retry_after(&headers);
                        last = format!("HTTP 429 (rate limited; retry after {}s)", after.as_secs());
                        if after > MAX_RETRY_AFTER {
                            break;
                        }
                        wait = Some(after);
                        continue;
                    }
                    if ok {
                        return Ok(Answer {
                            status,
                            body,
                            headers,
                        });
                    }
                    last = format!("HTTP {status}");
                    if !call.idempotent && status != StatusCode::SERVICE_UNAVAILABLE {
                        return Err(self.uncertain(&last));
                    }
                }
                Err(error) => {
                    let not_sent = error.is_connect();
                    last = if error.is_timeout() {
                        format!("no answer within {} s", self.timeout.as_secs_f32())
                    } else {
                        self.secrets.text(&error.without_url().to_string())
                    };
                    self.log(call, latency, None, None, false, Some(&last))
                        .await;
                    if !call.idempotent && !not_sent {
                        return Err(self.uncertain(&last));
                    }
                }
            }
        }
        Err(ProviderError::Unavailable(format!(
            "{} gave no answer after {ATTEMPTS} attempts: {last}",
            self.provider
        )))
    }

    fn uncertain(&self, what: &str) -> ProviderError {
        ProviderError::Uncertain(format!(
            "{} did not answer the request ({what}); it is not sent again until what it did is known",
            self.provider
        ))
    }

    async fn log(
        &self,
        call: &Call,
        latency: Duration,
        status: Option<StatusCode>,
        body: Option<&Value>,
        ok: bool,
        error: Option<&str>,
    ) {
        let kept = self
            .entry()
            .is_some_and(|entry| egress::keeps_answers(entry, &self.base_url));
        let response = status.map(|status| {
            let body = if kept {
                json!(body.map(|b| self.secrets.json(b)))
            } else {
                json!("[not kept: the answer of a host outside the provider's catalogue]")
            };
            json!({"status": status.as_u16(), "body": body})
        });
        let error = error.map(str::to_string).or_else(|| {
            status
                .filter(|s| !s.is_success())
                .map(|s| format!("HTTP {s}"))
        });
        let entry = NewEntry {
            config_id: self.config_id,
            provider: self.provider.to_string(),
            action: call.action.to_string(),
            request: self.logged_request(call),
            response,
            status: status.map(|s| s.as_u16()),
            ok,
            latency_ms: i32::try_from(latency.as_millis()).unwrap_or(i32::MAX),
            reference_type: call.reference.as_ref().map(|(kind, _)| kind.to_string()),
            reference_id: call.reference.as_ref().map(|(_, id)| id.clone()),
            error,
        };
        self.recorder.record(entry).await;
    }
}

fn client(timeout: Duration, egress: &Egress) -> reqwest::Client {
    let mut builder = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(5))
        .timeout(timeout)
        .redirect(reqwest::redirect::Policy::none());
    if egress.production {
        builder = builder.dns_resolver(Arc::new(CheckedResolver(egress.clone())));
    }
    builder.build().unwrap_or_default()
}

/// Resolves names as the system does, then keeps only the addresses the
/// rules allow for that name (none left: the call fails).
struct CheckedResolver(Egress);

impl reqwest::dns::Resolve for CheckedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let egress = self.0.clone();
        let host = name.as_str().to_string();
        Box::pin(async move {
            let resolved: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let mut refused = None;
            let allowed: Vec<SocketAddr> = resolved
                .into_iter()
                .filter(|addr| match egress.check_address(&host, addr.ip()) {
                    Ok(()) => true,
                    Err(error) => {
                        refused = Some(error);
                        false
                    }
                })
                .collect();
            if allowed.is_empty() {
                let why = refused.map_or_else(
                    || format!("{host} resolved to no address"),
                    |e| e.to_string(),
                );
                return Err(why.into());
            }
            let addrs: reqwest::dns::Addrs = Box::new(allowed.into_iter());
            Ok(addrs)
        })
    }
}

/// Longest non-JSON body kept in the log.
const TEXT_LIMIT: usize = 2_000;

fn parse_body(bytes: &[u8]) -> Value {
    if bytes.is_empty() {
        return Value::Null;
    }
    serde_json::from_slice(bytes).unwrap_or_else(|_| {
        let text = String::from_utf8_lossy(bytes);
        Value::String(text.chars().take(TEXT_LIMIT).collect())
    })
}

#[cfg(test)]
mod tests {
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    use super::*;
    use crate::integrations::Memory;

    fn http(server: &MockServer, log: &Memory) -> Http {
        Http::new(
            "stripe",
            Some(Uuid::from_u128(1)),
            &server.uri(),
            Secrets::new(["sk_live_secret_value_42"]),
            Arc::new(log.clone()),
        )
        .with_timing(Duration::from_millis(200), Duration::from_millis(5))
    }

    fn call() -> Call {
        Call::new("charge", Method::POST, "/v1/charges")
            .auth(Auth::Bearer("sk_live_secret_value_42".into()))
            .form([("note", "key sk_live_secret_value_42"), ("amount", "100")])
            .reference("payment", "p-1")
    }

    #[tokio::test]
    async fn timeouts_are_retried_then_reported_as_an_outage_and_every_attempt_is_logged() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/v1/charges"))
            .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(2)))
            .expect(u64::from(ATTEMPTS))
            .mount(&server)
            .await;
        let log = Memory::default();
        let result = http(&server, &log).send(&call()).await;
        assert!(
            matches!(result, Err(ProviderError::Unavailable(_))),
            "{result:?}"
        );
        let entries = log.entries();
        assert_eq!(entries.len(), ATTEMPTS as usize);
        assert!(entries
            .iter()
            .all(|e| !e.ok && e.status.is_none() && e.error.is_some()));
        assert_eq!(entries[0].reference_id.as_deref(), Some("p-1"));
    }

    #[tokio::test]
    async fn a_5xx_is_retried_a_4xx_is_the_final_answer_and_secrets_never_reach_the_log() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(502))
            .up_to_n_times(1)
            .expect(1)
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(402).set_body_json(serde_json::json!({
                "error": {"message": "declined", "echo": "sk_live_secret_value_42"}
            })))
            .expect(1)
            .mount(&server)
            .await;
        let log = Memory::default();
        let answer = http(&server, &log).send(&call()).await.unwrap();
        assert_eq!(answer.status, StatusCode::PAYMENT_REQUIRED);
        let entries = log.entries();
        assert_eq!(
            entries.iter().map(|e| (e.status, e.ok)).collect::<Vec<_>>(),
            vec![(Some(502), false), (Some(402), true)]
        );
        let logged = format!("{entries:?}");
        assert!(!logged.contains("sk_live_secret_value_42"), "{logged}");
        assert!(logged.contains("[redacted]"));
    }

    #[tokio::test]
    async fn a_redirect_is_the_answer_not_followed() {
        let elsewhere = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(200))
            .expect(0)
            .mount(&elsewhere)
            .await;
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(
                ResponseTemplate::new(307)
                    .insert_header("location", format!("{}/steal", elsewhere.uri())),
            )
            .expect(1)
            .mount(&server)
            .await;
        let log = Memory::default();
        let answer = http(&server, &log).send(&call()).await.unwrap();
        assert_eq!(answer.status, StatusCode::TEMPORARY_REDIRECT);
    }

    #[tokio::test]
    async fn in_production_a_name_that_resolves_inside_is_not_called() {
        use reqwest::dns::Resolve as _;
        let resolver = CheckedResolver(Egress::new(true, ""));
        let refused = resolver.resolve("localhost".parse().unwrap()).await;
        let error = refused.err().expect("localhost is refused").to_string();
        assert!(error.contains("loopback, private or link-local"), "{error}");

        let allowed = CheckedResolver(Egress::new(true, "localhost"));
        let addrs: Vec<SocketAddr> = allowed
            .resolve("localhost".parse().unwrap())
            .await
            .unwrap()
            .collect();
        assert!(!addrs.is_empty());
    }

    #[tokio::test]
    async fn a_refused_base_url_is_logged_and_never_called() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(200))
            .expect(0)
            .mount(&server)
            .await;
        let log = Memory::default();
        let result = http(&server, &log)
            .with_egress(Egress::new(true, ""))
            .send(&call())
            .await;
        assert!(
            matches!(&result, Err(ProviderError::Rejected(why)) if why.contains("base_url refused")),
            "{result:?}"
        );
        assert_eq!(log.entries().len(), 1);
    }

    #[tokio::test]
    async fn a_429_waits_for_its_retry_after_and_is_never_a_refusal() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/v1/charges"))
            .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "1"))
            .up_to_n_times(1)
            .expect(1)
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path("/v1/charges"))
            .respond_with(
                ResponseTemplate::new(200).set_body_json(serde_json::json!({"id": "ch_1"})),
            )
            .expect(1)
            .mount(&server)
            .await;
        let log = Memory::default();
        let started = Instant::now();
        let answer = http(&server, &log).send(&call()).await.unwrap();
        assert_eq!(answer.body["id"], "ch_1");
        assert!(
            started.elapsed() >= Duration::from_secs(1),
            "waited as asked"
        );

        // Asked to wait longer than a call may: unavailable (retried on the
        // job's schedule), not refused, and asked only once.
        let slow = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "120"))
            .expect(1)
            .mount(&slow)
            .await;
        let result = http(&slow, &log).send(&call()).await;
        assert!(
            matches!(&result, Err(ProviderError::Unavailable(why)) if why.contains("429")),
            "{result:?}"
        );
    }

    #[tokio::test]
    async fn a_call_the_provider_does_not_deduplicate_is_never_repeated_after_it_may_have_acted() {
        // A timeout: sent once, uncertain.
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(2)))
            .expect(1)
            .mount(&server)
            .await;
        let log = Memory::default();
        let result = http(&server, &log).send(&call().not_idempotent()).await;
        assert!(
            matches!(&result, Err(ProviderError::Uncertain(why)) if why.contains("not sent again")),
            "{result:?}"
        );
        // A server error that may follow the provider acting: the same.
        let failing = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(500))
            .expect(1)
            .mount(&failing)
            .await;
        let result = http(&failing, &log).send(&call().not_idempotent()).await;
        assert!(
            matches!(result, Err(ProviderError::Uncertain(_))),
            "{result:?}"
        );

        // A 503 says it was not acted on: sent again, and answered.
        let busy = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(503))
            .up_to_n_times(1)
            .expect(1)
            .mount(&busy)
            .await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(200))
            .expect(1)
            .mount(&busy)
            .await;
        let answer = http(&busy, &log).send(&call().not_idempotent()).await;
        assert_eq!(answer.map(|a| a.status), Ok(StatusCode::OK));
    }

    #[tokio::test]
    async fn a_refused_connection_never_reached_the_provider_and_is_tried_again() {
        // Nothing listens on a port just given back.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let log = Memory::default();
        let http = Http::new(
            "stripe",
            None,
            &format!("http://127.0.0.1:{port}"),
            Secrets::new(["sk_live_secret_value_42"]),
            Arc::new(log.clone()),
        )
        .with_timing(Duration::from_millis(200), Duration::from_millis(5));
        let result = http.send(&call().not_idempotent()).await;
        assert!(
            matches!(result, Err(ProviderError::Unavailable(_))),
            "{result:?}"
        );
        assert_eq!(log.entries().len(), ATTEMPTS as usize, "every attempt");
    }
}
