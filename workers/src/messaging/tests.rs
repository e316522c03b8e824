use std::sync::Arc;
use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use domain::integration::{ConfigDetails, Environment, Settings};
use domain::IntegrationId;
use serde_json::json;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use uuid::Uuid;
use wiremock::matchers::{body_json, body_partial_json, body_string, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::*;
use crate::integrations::Memory;

fn configured(provider: &str, fields: &[(&str, &str)]) -> ProviderConfig {
    let details = ConfigDetails {
        config_id: IntegrationId(Uuid::from_u128(9)),
        provider: provider.into(),
        category: "sms".into(),
        name: provider.into(),
        environment: Environment::Sandbox,
        enabled: true,
        is_primary: true,
        priority: 0,
        settings: Settings::new(),
        credential_fields: vec![],
    };
    let credentials = fields
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    ProviderConfig::new(Uuid::from_u128(9), &details, credentials).unwrap()
}

fn http(config: &ProviderConfig, server: &MockServer, log: &Memory) -> crate::integrations::Http {
    crate::integrations::Http::new(
        config.provider(),
        Some(config.id),
        &server.uri(),
        config.secrets(),
        Arc::new(log.clone()),
    )
    .with_timing(Duration::from_secs(2), Duration::from_millis(5))
}

fn sms() -> Sms {
    Sms {
        to: "+254712345678".into(),
        body: "Your policy POL-2026-000001 is active.".into(),
        reference: "n-1".into(),
    }
}

fn email() -> Email {
    Email {
        sender: None,
        to: "customer@example.com".into(),
        subject: "Policy issued".into(),
        text: "Your policy is active.".into(),
        html: None,
        reference: "n-2".into(),
        unsubscribe_url: Some("https://ifinsure.example/api/v1/unsubscribe?token=t0k".into()),
    }
}

#[tokio::test]
async fn africas_talking_sends_a_form_with_the_api_key_header_and_reads_the_recipient() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/version1/messaging"))
        .and(header("apikey", "at-api-key-0123456789"))
        .and(header("accept", "application/json"))
        .and(header("content-type", "application/x-www-form-urlencoded"))
        .and(body_string(
            "username=sandbox&to=%2B254712345678&message=Your+policy+POL-2026-000001+is+active.&from=IFINSURE",
        ))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({"SMSMessageData": {
            "Message": "Sent to 1/1 Total Cost: KES 0.8000",
            "Recipients": [{"statusCode": 101, "number": "+254712345678", "status": "Success",
                            "cost": "KES 0.8000", "messageId": "ATPid_SampleTxnId123"}]}})))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/version1/messaging"))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({"SMSMessageData": {
            "Message": "Sent to 0/1 Total Cost: 0",
            "Recipients": [{"statusCode": 403, "number": "+254712345678", "status": "InvalidPhoneNumber",
                            "cost": "0", "messageId": "None"}]}})))
        .mount(&server)
        .await;
    let config = configured(
        "africastalking",
        &[
            ("username", "sandbox"),
            ("api_key", "at-api-key-0123456789"),
            ("from", "IFINSURE"),
        ],
    );
    let log = Memory::default();
    let at =
        africastalking::AfricasTalking::from_config(&config, http(&config, &server, &log)).unwrap();
    assert_eq!(
        at.send(&sms()).await,
        Ok(Sent {
            message_id: "ATPid_SampleTxnId123".into(),
            status: "Success".into()
        })
    );
    assert!(
        matches!(at.send(&sms()).await, Err(ProviderError::Rejected(r)) if r.contains("InvalidPhoneNumber"))
    );
    assert!(!format!("{:?}", log.entries()).contains("at-api-key-0123456789"));
}

#[tokio::test]
async fn twilio_posts_a_form_with_basic_auth_and_a_status_callback() {
    let server = MockServer::start().await;
    let basic = STANDARD.encode("AC123:twilio-auth-token-0123");
    Mock::given(method("POST"))
        .and(path("/2010-04-01/Accounts/AC123/Messages.json"))
        .and(header("authorization", format!("Basic {basic}").as_str()))
        .and(body_string(
            "To=%2B254712345678&From=%2B15005550006&Body=Your+policy+POL-2026-000001+is+active.&StatusCallback=https%3A%2F%2Fifinsure.example%2Fapi%2Fv1%2Fwebhooks%2Ftwilio",
        ))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({
            "sid": "SM1f0e8ae6ade43cb3c0ce4525424e404f", "status": "queued", "num_segments": "1"
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/2010-04-01/Accounts/AC123.json"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({
            "code": 20003, "message": "Authenticate", "status": 401
        })))
        .expect(1)
        .mount(&server)
        .await;
    let config = configured(
        "twilio",
        &[
            ("account_sid", "AC123"),
            ("auth_token", "twilio-auth-token-0123"),
            ("from", "+15005550006"),
        ],
    );
    let twilio = twilio::Twilio::from_config(
        &config,
        http(&config, &server, &Memory::default()),
        "https://ifinsure.example",
    )
    .unwrap();
    assert_eq!(
        twilio.send(&sms()).await,
        Ok(Sent {
            message_id: "SM1f0e8ae6ade43cb3c0ce4525424e404f".into(),
            status: "queued".into()
        })
    );
    assert_eq!(
        twilio.test_connection().await,
        Err(ProviderError::Rejected(
            "Authenticate (Twilio error 20003)".into()
        ))
    );
}

#[tokio::test]
async fn sendgrid_posts_mail_send_and_reads_the_message_id_header() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v3/mail/send"))
        .and(header("authorization", "Bearer SG.sendgrid-key-0123"))
        .and(body_json(json!({
            "personalizations": [{"to": [{"email": "customer@example.com"}], "custom_args": {"reference": "n-2"}}],
            "from": {"email": "no-reply@ifinsure.example"},
            "subject": "Policy issued",
            "content": [{"type": "text/plain", "value": "Your policy is active."}],
            "headers": {
                "List-Unsubscribe": "<https://ifinsure.example/api/v1/unsubscribe?token=t0k>",
                "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"
            }
        })))
        .respond_with(ResponseTemplate::new(202).insert_header("X-Message-Id", "W9aYfR3wQ2mX"))
        .expect(1)
        .mount(&server)
        .await;
    let config = configured(
        "sendgrid",
        &[
            ("api_key", "SG.sendgrid-key-0123"),
            ("from", "no-reply@ifinsure.example"),
        ],
    );
    let sendgrid =
        sendgrid::SendGrid::from_config(&config, http(&config, &server, &Memory::default()))
            .unwrap();
    assert_eq!(
        sendgrid.send(&email()).await,
        Ok(Sent {
            message_id: "W9aYfR3wQ2mX".into(),
            status: "accepted".into()
        })
    );
}

/// A minimal SMTP server that accepts one message and returns the dialogue.
async fn fake_smtp() -> (u16, tokio::task::JoinHandle<Vec<String>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let task = tokio::spawn(async move {
        let (socket, _) = listener.accept().await.unwrap();
        let (read, mut write) = socket.into_split();
        let mut lines = BufReader::new(read).lines();
        let mut seen = Vec::new();
        write.write_all(b"220 fake ESMTP\r\n").await.unwrap();
        let mut in_data = false;
        while let Ok(Some(line)) = lines.next_line().await {
            seen.push(line.clone());
            let reply: &[u8] = if in_data {
                if line == "." {
                    in_data = false;
                    b"250 2.0.0 Ok: queued as ABC123\r\n"
                } else {
                    continue;
                }
            } else if line.starts_with("EHLO") {
                b"250-fake\r\n250 AUTH PLAIN LOGIN\r\n"
            } else if line.starts_with("AUTH") {
                b"235 2.7.0 Authentication successful\r\n"
            } else if line == "DATA" {
                in_data = true;
                b"354 End data with <CR><LF>.<CR><LF>\r\n"
            } else if line == "QUIT" {
                write.write_all(b"221 Bye\r\n").await.unwrap();
                break;
            } else {
                b"250 OK\r\n"
            };
            write.write_all(reply).await.unwrap();
        }
        seen
    });
    (port, task)
}

#[tokio::test]
async fn smtp_delivers_to_the_server_and_logs_without_the_password() {
    let (port, server) = fake_smtp().await;
    let port = port.to_string();
    let config = configured(
        "smtp",
        &[
            ("host", "127.0.0.1"),
            ("port", &port),
            ("tls", "none"),
            ("username", "mailer"),
            ("password", "smtp-password-0123"),
            ("from", "ifinsure <no-reply@ifinsure.example>"),
        ],
    );
    let log = Memory::default();
    let smtp = smtp::Smtp::from_config(&config, Arc::new(log.clone())).unwrap();
    let sent = smtp.send(&email()).await.unwrap();
    assert_eq!(sent.message_id, "<n-2@ifinsure>");
    drop(smtp);
    let dialogue = server.await.unwrap();
    assert!(
        dialogue
            .iter()
            .any(|l| l == "MAIL FROM:<no-reply@ifinsure.example>"),
        "{dialogue:?}"
    );
    assert!(dialogue
        .iter()
        .any(|l| l == "RCPT TO:<customer@example.com>"));
    assert!(dialogue.iter().any(|l| l == "Subject: Policy issued"));
    assert!(dialogue
        .iter()
        .any(|l| l == "List-Unsubscribe: <https://ifinsure.example/api/v1/unsubscribe?token=t0k>"));
    assert!(dialogue
        .iter()
        .any(|l| l == "List-Unsubscribe-Post: List-Unsubscribe=One-Click"));
    let entries = log.entries();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].status, Some(250));
    assert!(!format!("{entries:?}").contains("smtp-password-0123"));
    let wrong_mode = configured(
        "smtp",
        &[("host", "h"), ("from", "a@b.c"), ("tls", "maybe")],
    );
    assert!(smtp::Smtp::from_config(&wrong_mode, Arc::new(Memory::default())).is_err());
}

fn email_from_settings() -> Email {
    Email {
        sender: Some(Sender {
            name: "Bima Bora".into(),
            address: "policies@bimabora.example".into(),
            reply_to: Some("help@bimabora.example".into()),
        }),
        ..email()
    }
}

#[tokio::test]
async fn sendgrid_sends_from_the_email_settings_with_their_reply_to() {
    // SendGrid v3 mail/send: `from` and `reply_to` are {email, name} objects.
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v3/mail/send"))
        .and(body_partial_json(json!({
            "from": {"email": "policies@bimabora.example", "name": "Bima Bora"},
            "reply_to": {"email": "help@bimabora.example"},
        })))
        .respond_with(ResponseTemplate::new(202).insert_header("X-Message-Id", "M2"))
        .expect(1)
        .mount(&server)
        .await;
    let config = configured(
        "sendgrid",
        &[
            ("api_key", "SG.sendgrid-key-0123"),
            ("from", "no-reply@ifinsure.example"),
        ],
    );
    let sendgrid =
        sendgrid::SendGrid::from_config(&config, http(&config, &server, &Memory::default()))
            .unwrap();
    assert!(sendgrid.send(&email_from_settings()).await.is_ok());
}

#[tokio::test]
async fn smtp_sends_from_the_email_settings_with_their_reply_to() {
    let (port, server) = fake_smtp().await;
    let port = port.to_string();
    let config = configured(
        "smtp",
        &[
            ("host", "127.0.0.1"),
            ("port", &port),
            ("tls", "none"),
            ("from", "ifinsure <no-reply@ifinsure.example>"),
        ],
    );
    let smtp = smtp::Smtp::from_config(&config, Arc::new(Memory::default())).unwrap();
    smtp.send(&email_from_settings()).await.unwrap();
    drop(smtp);
    let dialogue = server.await.unwrap();
    for expected in [
        "MAIL FROM:<policies@bimabora.example>",
        "From: \"Bima Bora\" <policies@bimabora.example>",
        "Reply-To: help@bimabora.example",
    ] {
        assert!(
            dialogue.iter().any(|l| l == expected),
            "{expected}: {dialogue:?}"
        );
    }
}
