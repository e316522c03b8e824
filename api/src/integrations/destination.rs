//! Where a configuration sends its credentials, and who may change that.
//! A stored secret goes only where it was entered for: changing where a
//! configuration calls (its `base_url`, an SMTP `host` or `port`, a store's
//! `path`, `bucket` or `region`) means entering every secret again, so an
//! admin token cannot point someone else's secret at a server of its
//! choosing. In production the base URL must also pass the deployment's
//! [`Egress`] rules.

use domain::integration::catalogue;
use domain::integration::egress::Egress;
use domain::integration::Settings;
use projections::vault::Credentials;

use crate::error::ApiError;

/// The settings that decide where calls go.
const DESTINATION: [&str; 6] = ["base_url", "host", "port", "path", "bucket", "region"];

/// The credential ifinsure generates itself (authenticating unsigned
/// callbacks): generated anew, not asked for, when the destination changes.
pub(super) const CALLBACK_TOKEN: &str = "callback_token";

/// `settings.base_url` under the deployment's rules.
///
/// # Errors
/// `422` on `settings.base_url` when it may not receive this provider's calls.
pub(super) fn check_base_url(
    egress: &Egress,
    provider: &str,
    settings: &Settings,
) -> Result<(), ApiError> {
    let (Some(entry), Some(url)) = (catalogue::provider(provider), settings.get("base_url")) else {
        return Ok(());
    };
    egress
        .check_base_url(entry, url)
        .map_err(|e| ApiError::invalid("settings.base_url", e.to_string()))
}

/// The destination settings that differ between `before` and `after`.
pub(super) fn changed(before: &Settings, after: &Settings) -> Vec<&'static str> {
    DESTINATION
        .into_iter()
        .filter(|field| before.get(*field) != after.get(*field))
        .collect()
}

/// When the destination changes, every stored secret of the provider must
/// be given again (non-empty) in the same request.
///
/// # Errors
/// `422` on `credentials` naming the secrets to enter again.
pub(super) fn check_reentered(
    provider: &str,
    changed: &[&str],
    stored: &Credentials,
    given: Option<&Credentials>,
) -> Result<(), ApiError> {
    if changed.is_empty() {
        return Ok(());
    }
    let secret_fields = catalogue::provider(provider)
        .map(|entry| entry.fields.iter().filter(|f| f.secret).map(|f| f.name))
        .into_iter()
        .flatten();
    let missing: Vec<&str> = secret_fields
        .filter(|name| *name != CALLBACK_TOKEN && stored.contains_key(*name))
        .filter(|name| {
            given
                .and_then(|g| g.get(*name))
                .is_none_or(|v| v.trim().is_empty())
        })
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(ApiError::invalid(
        "credentials",
        format!(
            "changing {} means entering every secret again ({}): a secret is only sent where \
             it was entered for",
            changed.join(", "),
            missing.join(", ")
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> std::collections::BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn moving_a_configuration_needs_every_stored_secret_again() {
        let before: Settings = map(&[("base_url", "https://api.stripe.com")])
            .into_iter()
            .collect();
        let after: Settings = map(&[("base_url", "http://127.0.0.1:18922/x?")])
            .into_iter()
            .collect();
        let stored: Credentials =
            map(&[("secret_key", "sk_live_x"), ("webhook_secret", "whsec_y")])
                .into_iter()
                .collect();
        let moved = changed(&before, &after);
        assert_eq!(moved, ["base_url"]);

        let error = check_reentered("stripe", &moved, &stored, None).unwrap_err();
        let text = format!("{error:?}");
        assert!(
            text.contains("secret_key") && text.contains("webhook_secret"),
            "{text}"
        );
        let partly: Credentials = map(&[("secret_key", "sk_live_new")]).into_iter().collect();
        assert!(check_reentered("stripe", &moved, &stored, Some(&partly)).is_err());
        let both: Credentials = map(&[("secret_key", "sk_new"), ("webhook_secret", "whsec_new")])
            .into_iter()
            .collect();
        assert!(check_reentered("stripe", &moved, &stored, Some(&both)).is_ok());
    }

    #[test]
    fn other_changes_and_unset_secrets_need_nothing_again() {
        let before: Settings = map(&[("host", "smtp.example.com"), ("from", "a@x.co")])
            .into_iter()
            .collect();
        let renamed: Settings = map(&[("host", "smtp.example.com"), ("from", "b@x.co")])
            .into_iter()
            .collect();
        assert!(changed(&before, &renamed).is_empty());
        let moved: Settings = map(&[("host", "mail.attacker.example"), ("from", "a@x.co")])
            .into_iter()
            .collect();
        assert_eq!(changed(&before, &moved), ["host"]);
        let nothing_stored = Credentials::new();
        assert!(check_reentered("smtp", &["host"], &nothing_stored, None).is_ok());
        let token_only: Credentials = map(&[("callback_token", "t")]).into_iter().collect();
        assert!(check_reentered("mpesa", &["base_url"], &token_only, None).is_ok());
    }
}
