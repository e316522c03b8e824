//! What SMS and email providers report of a message after they took it:
//! delivered to the phone or inbox, or failed there. Each provider's words
//! (Twilio's `MessageStatus`, Africa's Talking's delivery-report `status`,
//! SendGrid's event types) become one [`Delivery`]; the reports in between
//! (queued, sent, buffered, deferred, opened) change nothing.

/// A message's final fate at its provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// It reached the phone or inbox.
    Delivered,
    /// It will not: why, in the provider's words.
    Failed(String),
}

impl Delivery {
    /// `delivered` or `failed`, as the notification log says it.
    pub fn status(&self) -> &'static str {
        match self {
            Delivery::Delivered => "delivered",
            Delivery::Failed(_) => "failed",
        }
    }

    /// Why it failed, if it did.
    pub fn detail(&self) -> Option<&str> {
        match self {
            Delivery::Delivered => None,
            Delivery::Failed(why) => Some(why),
        }
    }
}

/// Twilio's status callback: `MessageStatus` (`delivered`; `undelivered`
/// and `failed` with an `ErrorCode`; the rest on the way).
pub fn twilio(status: &str, error_code: Option<&str>) -> Option<Delivery> {
    match status {
        "delivered" => Some(Delivery::Delivered),
        "undelivered" | "failed" => Some(Delivery::Failed(match error_code {
            Some(code) if !code.is_empty() => format!("Twilio: {status} (error {code})"),
            _ => format!("Twilio: {status}"),
        })),
        _ => None,
    }
}

/// An Africa's Talking delivery report: `status` `Success`; `Failed`,
/// `Rejected`, `AbsentSubscriber` or `Expired` with a `failureReason`; the
/// rest (`Sent`, `Submitted`, `Buffered`) on the way.
pub fn africastalking(status: &str, failure_reason: Option<&str>) -> Option<Delivery> {
    match status {
        "Success" => Some(Delivery::Delivered),
        "Failed" | "Rejected" | "AbsentSubscriber" | "Expired" => {
            Some(Delivery::Failed(match failure_reason {
                Some(reason) if !reason.is_empty() => {
                    format!("Africa's Talking: {status} ({reason})")
                }
                _ => format!("Africa's Talking: {status}"),
            }))
        }
        _ => None,
    }
}

/// A SendGrid event: `delivered`; `bounce` (or blocked) and `dropped` with
/// a `reason`; the rest (`processed`, `deferred`, `open`, `click`, …)
/// change nothing.
pub fn sendgrid(event: &str, reason: Option<&str>) -> Option<Delivery> {
    match event {
        "delivered" => Some(Delivery::Delivered),
        "bounce" | "dropped" => Some(Delivery::Failed(match reason {
            Some(reason) if !reason.is_empty() => format!("SendGrid: {event} ({reason})"),
            _ => format!("SendGrid: {event}"),
        })),
        _ => None,
    }
}

/// The `X-Message-Id` SendGrid gave when it took a message, from an
/// event's `sg_message_id` (that id, then `.filter…` and more).
pub fn sendgrid_message_id(sg_message_id: &str) -> &str {
    sg_message_id
        .split_once(".filter")
        .map_or(sg_message_id, |(id, _)| id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn final_reports_are_delivered_or_failed_with_the_providers_words() {
        assert_eq!(twilio("delivered", None), Some(Delivery::Delivered));
        assert_eq!(
            twilio("undelivered", Some("30003")),
            Some(Delivery::Failed("Twilio: undelivered (error 30003)".into()))
        );
        assert_eq!(
            twilio("failed", Some("")).map(|d| d.status()),
            Some("failed")
        );
        assert_eq!(africastalking("Success", None), Some(Delivery::Delivered));
        assert_eq!(
            africastalking("Failed", Some("UserInBlacklist")),
            Some(Delivery::Failed(
                "Africa's Talking: Failed (UserInBlacklist)".into()
            ))
        );
        assert_eq!(sendgrid("delivered", None), Some(Delivery::Delivered));
        assert_eq!(
            sendgrid("bounce", Some("550 5.1.1 The email account does not exist")),
            Some(Delivery::Failed(
                "SendGrid: bounce (550 5.1.1 The email account does not exist)".into()
            ))
        );
    }

    #[test]
    fn reports_on_the_way_change_nothing() {
        for status in ["queued", "sending", "sent", "accepted"] {
            assert_eq!(twilio(status, None), None, "{status}");
        }
        for status in ["Sent", "Submitted", "Buffered"] {
            assert_eq!(africastalking(status, None), None, "{status}");
        }
        for event in ["processed", "deferred", "open", "click", "unsubscribe"] {
            assert_eq!(sendgrid(event, None), None, "{event}");
        }
    }

    #[test]
    fn sendgrids_event_names_the_message_by_its_x_message_id() {
        assert_eq!(
            sendgrid_message_id(
                "W9QIRLf5Q6yg0hjM-6_pYA.filterdrecv-p3mdw1-756b745b58-kmzbl-18-5F5FC76C-9.0"
            ),
            "W9QIRLf5Q6yg0hjM-6_pYA"
        );
        assert_eq!(
            sendgrid_message_id("W9QIRLf5Q6yg0hjM-6_pYA"),
            "W9QIRLf5Q6yg0hjM-6_pYA"
        );
    }
}
