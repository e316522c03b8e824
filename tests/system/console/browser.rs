//! A browser without JavaScript, as far as the console's tests need one:
//! it keeps cookies, follows nothing by itself, and submits a page's forms
//! with the hidden fields the page gave them (CSRF token, idempotency key,
//! version), as a person clicking the form's button would.

use std::collections::BTreeMap;
use std::sync::Mutex;

use reqwest::header::{HeaderMap, COOKIE, LOCATION, SET_COOKIE};
use reqwest::StatusCode;

use crate::common::TestApp;

/// A page as the browser got it.
#[derive(Debug, Clone)]
pub struct Page {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub html: String,
}

impl Page {
    /// Where a redirect goes.
    pub fn location(&self) -> Option<&str> {
        self.headers.get(LOCATION).and_then(|v| v.to_str().ok())
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The text of the page's `h1`.
    pub fn h1(&self) -> String {
        between(&self.html, "<h1>", "</h1>").unwrap_or_default()
    }

    /// Whether the page shows `text` (HTML entities decoded).
    pub fn shows(&self, text: &str) -> bool {
        unescape(&self.html).contains(text)
    }

    /// The form whose `action` is `action`: its hidden fields.
    pub fn form(&self, action: &str) -> Option<Vec<(String, String)>> {
        let html = unescape(&self.html);
        let at = html.find(&format!("action=\"{action}\""))?;
        let start = html[..at].rfind("<form")?;
        let end = at + html[at..].find("</form>")?;
        let form = &html[start..end];
        let mut hidden = Vec::new();
        for input in form.split("<input").skip(1) {
            let tag = &input[..input.find('>').unwrap_or(input.len())];
            if attribute(tag, "type").as_deref() == Some("hidden") {
                if let (Some(name), Some(value)) = (attribute(tag, "name"), attribute(tag, "value"))
                {
                    hidden.push((name, value));
                }
            }
        }
        Some(hidden)
    }

    /// Every link and form target on the page that is one of ours.
    pub fn targets(&self) -> Vec<String> {
        let html = unescape(&self.html);
        let mut found = Vec::new();
        for key in ["href=\"", "action=\""] {
            for piece in html.split(key).skip(1) {
                if let Some(end) = piece.find('"') {
                    let target = &piece[..end];
                    if target.starts_with('/') && !target.starts_with("//") {
                        found.push(target.to_string());
                    }
                }
            }
        }
        found.sort();
        found.dedup();
        found
    }
}

/// The value of `name="..."` in a tag.
fn attribute(tag: &str, name: &str) -> Option<String> {
    let key = format!("{name}=\"");
    let at = tag.find(&key)? + key.len();
    let end = tag[at..].find('"')?;
    Some(tag[at..at + end].to_string())
}

/// The text between `open` and the next `close`.
pub fn between(html: &str, open: &str, close: &str) -> Option<String> {
    let start = html.find(open)? + open.len();
    let end = html[start..].find(close)?;
    Some(unescape(&html[start..start + end]))
}

/// HTML with the entities minijinja writes decoded.
pub fn unescape(html: &str) -> String {
    html.replace("&#x2f;", "/")
        .replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// One browser: its own cookies.
pub struct Browser {
    origin: String,
    client: reqwest::Client,
    cookies: Mutex<BTreeMap<String, String>>,
}

impl Browser {
    pub fn new(app: &TestApp) -> Self {
        Self {
            origin: app.base.trim_end_matches("/api/v1").to_string(),
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            cookies: Mutex::new(BTreeMap::new()),
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .lock()
            .unwrap()
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Page {
        let response = request
            .header(COOKIE, self.cookie_header())
            .send()
            .await
            .expect("the console answers");
        let status = response.status();
        let headers = response.headers().clone();
        for value in headers.get_all(SET_COOKIE) {
            let text = value.to_str().unwrap();
            let pair = text.split(';').next().unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            let mut cookies = self.cookies.lock().unwrap();
            if text.contains("Max-Age=0") {
                cookies.remove(name);
            } else {
                cookies.insert(name.to_string(), value.to_string());
            }
        }
        let html = response.text().await.unwrap_or_default();
        Page {
            status,
            headers,
            html,
        }
    }

    pub async fn get(&self, path: &str) -> Page {
        self.send(self.client.get(format!("{}{path}", self.origin)))
            .await
    }

    /// `GET path` with extra headers (`HX-Request`).
    pub async fn get_with(&self, path: &str, headers: &[(&str, &str)]) -> Page {
        let mut request = self.client.get(format!("{}{path}", self.origin));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        self.send(request).await
    }

    /// Posts exactly `fields` to `path` (no tokens added).
    pub async fn post(&self, path: &str, fields: &[(String, String)]) -> Page {
        self.send(
            self.client
                .post(format!("{}{path}", self.origin))
                .form(fields),
        )
        .await
    }

    /// Submits the form of `page` whose action is `action` with `fields`
    /// typed in (its hidden fields as the page gave them).
    pub async fn submit(&self, page: &Page, action: &str, fields: &[(&str, &str)]) -> Page {
        let mut all = page.form(action).unwrap_or_else(|| {
            panic!(
                "no form posting to {action} on {}: {}",
                page.h1(),
                page.html
            )
        });
        for (name, value) in fields {
            all.retain(|(n, _)| n != name);
            all.push(((*name).to_string(), (*value).to_string()));
        }
        self.post(action, &all).await
    }

    /// Posts a multipart form (an upload) with the hidden fields of the form
    /// posting to `action` and one file in `field`.
    pub async fn upload(
        &self,
        page: &Page,
        action: &str,
        field: &str,
        name: &str,
        mime: &str,
        bytes: Vec<u8>,
    ) -> Page {
        let fields = page.form(action).expect("the upload form");
        self.upload_fields(action, &fields, field, name, mime, bytes)
            .await
    }

    /// Posts a multipart form of exactly `fields` and one file in `field`.
    pub async fn upload_fields(
        &self,
        action: &str,
        fields: &[(String, String)],
        field: &str,
        name: &str,
        mime: &str,
        bytes: Vec<u8>,
    ) -> Page {
        let boundary = "console-test-boundary-7d1f";
        let mut body = Vec::new();
        for (k, v) in fields {
            body.extend_from_slice(
                format!(
                    "--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n"
                )
                .as_bytes(),
            );
        }
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{name}\"\r\nContent-Type: {mime}\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(&bytes);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        self.send(
            self.client
                .post(format!("{}{action}", self.origin))
                .header(
                    "content-type",
                    format!("multipart/form-data; boundary={boundary}"),
                )
                .body(body),
        )
        .await
    }

    /// Follows a redirect.
    pub async fn follow(&self, page: &Page) -> Page {
        let to = page
            .location()
            .unwrap_or_else(|| panic!("expected a redirect, got {}: {}", page.status, page.h1()));
        self.get(to).await
    }

    /// Signs in on `/login`; the dashboard.
    pub async fn sign_in(&self, email: &str, password: &str) -> Page {
        let login = self.get("/login").await;
        let done = self
            .submit(
                &login,
                "/login",
                &[("email", email), ("password", password)],
            )
            .await;
        assert_eq!(
            done.status,
            StatusCode::SEE_OTHER,
            "signing in as {email}: {}",
            done.html
        );
        self.follow(&done).await
    }
}
