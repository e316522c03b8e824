//! Where ifinsure may send a provider's credentials. A configuration's
//! `base_url` (a proxy, a fake in tests) would otherwise let anyone who can
//! edit it point the stored secret at a server of their choosing. In
//! production a base URL must be `https` on one of the catalogue's hosts
//! for that provider, or on a host the operator allow-listed
//! (`INTEGRATION_ALLOWED_HOSTS`: a proxy, MinIO); and it may not reach
//! loopback, private or link-local addresses unless allow-listed. In every
//! mode, only the catalogue's hosts have their answers kept in the log.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::catalogue::Provider;

/// The rules of one deployment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Egress {
    /// Production rules apply.
    pub production: bool,
    /// Hosts (lower case) allowed beyond the catalogue's.
    pub allowed_hosts: Vec<String>,
}

/// Why a base URL or an address is refused.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum EgressError {
    /// Not a URL with a host.
    #[error("{0:?} is not an http(s) URL with a host")]
    Malformed(String),
    /// Plain http in production.
    #[error("{0} must use https in production")]
    NotHttps(String),
    /// A host the provider does not live on.
    #[error(
        "{host} is not a host of {provider} ({known}); an operator may allow it in \
         INTEGRATION_ALLOWED_HOSTS"
    )]
    UnknownHost {
        /// The host asked for.
        host: String,
        /// The provider.
        provider: &'static str,
        /// The catalogue's hosts for it.
        known: String,
    },
    /// An address inside the deployment's own network.
    #[error(
        "{host} is {address}, a loopback, private or link-local address; an operator may \
         allow it in INTEGRATION_ALLOWED_HOSTS"
    )]
    InternalAddress {
        /// The host asked for.
        host: String,
        /// What it is (or resolved to).
        address: IpAddr,
    },
}

impl Egress {
    /// The rules for a deployment: `production`, and a comma-separated
    /// allow-list of hosts.
    pub fn new(production: bool, allowed_hosts: &str) -> Self {
        Self {
            production,
            allowed_hosts: allowed_hosts
                .split(',')
                .map(|h| h.trim().trim_end_matches('.').to_ascii_lowercase())
                .filter(|h| !h.is_empty())
                .collect(),
        }
    }

    /// Whether the operator allowed `host`.
    pub fn allows(&self, host: &str) -> bool {
        let host = normal(host);
        self.allowed_hosts.contains(&host)
    }

    /// Whether `url` may receive `provider`'s calls (and its credentials).
    ///
    /// # Errors
    /// In production, when it is not https on one of the provider's hosts
    /// or an allowed one, or names an internal address.
    pub fn check_base_url(&self, provider: &Provider, url: &str) -> Result<(), EgressError> {
        let (scheme, host) = scheme_and_host(url)?;
        if !self.production || self.allows(&host) {
            return Ok(());
        }
        if scheme != "https" {
            return Err(EgressError::NotHttps(url.to_string()));
        }
        if let Ok(address) = host.parse::<IpAddr>() {
            self.check_address(&host, address)?;
        }
        let known = catalogue_hosts(provider);
        if !known.contains(&host) {
            return Err(EgressError::UnknownHost {
                host,
                provider: provider.slug,
                known: if known.is_empty() {
                    "it has none".into()
                } else {
                    known.join(", ")
                },
            });
        }
        Ok(())
    }

    /// Whether a connection to `host` may go to `address`.
    ///
    /// # Errors
    /// In production, when the address is internal and `host` not allowed.
    pub fn check_address(&self, host: &str, address: IpAddr) -> Result<(), EgressError> {
        if self.production && internal(address) && !self.allows(host) {
            return Err(EgressError::InternalAddress {
                host: normal(host),
                address,
            });
        }
        Ok(())
    }
}

/// Whether the answers of `url` may be kept in the integration log: only
/// those of the catalogue's own hosts for `provider` (anything else may be
/// a server echoing what it was sent).
pub fn keeps_answers(provider: &Provider, url: &str) -> bool {
    scheme_and_host(url).is_ok_and(|(_, host)| catalogue_hosts(provider).contains(&host))
}

/// The hosts of the provider's sandbox and production URLs.
pub fn catalogue_hosts(provider: &Provider) -> Vec<String> {
    let mut hosts: Vec<String> = [provider.sandbox_base_url, provider.production_base_url]
        .into_iter()
        .flatten()
        .filter_map(|url| scheme_and_host(url).ok().map(|(_, host)| host))
        .collect();
    hosts.dedup();
    hosts
}

fn normal(host: &str) -> String {
    host.trim_matches(['[', ']'])
        .trim_end_matches('.')
        .to_ascii_lowercase()
}

/// The scheme and host (lower case, IPv6 without brackets) of `url`.
fn scheme_and_host(url: &str) -> Result<(String, String), EgressError> {
    let malformed = || EgressError::Malformed(url.to_string());
    let (scheme, rest) = url.split_once("://").ok_or_else(malformed)?;
    let scheme = scheme.to_ascii_lowercase();
    if scheme != "http" && scheme != "https" {
        return Err(malformed());
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    // Userinfo (`user@host`) would hide the real host from a reader.
    if authority.contains('@') || authority.is_empty() {
        return Err(malformed());
    }
    let host = if let Some(bracketed) = authority.strip_prefix('[') {
        bracketed.split(']').next().unwrap_or_default()
    } else {
        authority.split(':').next().unwrap_or_default()
    };
    if host.is_empty() {
        return Err(malformed());
    }
    Ok((scheme, normal(host)))
}

/// Loopback, private, link-local, unspecified, shared (CGNAT) or
/// broadcast: addresses of the deployment's own networks.
pub fn internal(address: IpAddr) -> bool {
    match address {
        IpAddr::V4(v4) => internal_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => internal_v4(v4),
            None => internal_v6(v6),
        },
    }
}

fn internal_v4(v4: Ipv4Addr) -> bool {
    let [a, b, ..] = v4.octets();
    v4.is_loopback()
        || v4.is_private()
        || v4.is_link_local()
        || v4.is_unspecified()
        || v4.is_broadcast()
        || (a == 100 && (64..128).contains(&b))
        || a == 0
}

fn internal_v6(v6: Ipv6Addr) -> bool {
    let first = v6.segments()[0];
    v6.is_loopback()
        || v6.is_unspecified()
        || (first & 0xfe00) == 0xfc00
        || (first & 0xffc0) == 0xfe80
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::integration::catalogue;

    fn stripe() -> &'static Provider {
        catalogue::provider("stripe").unwrap()
    }

    fn production(allowed: &str) -> Egress {
        Egress::new(true, allowed)
    }

    #[test]
    fn in_production_only_the_providers_own_hosts_over_https_are_allowed() {
        let egress = production("");
        assert_eq!(
            egress.check_base_url(stripe(), "https://api.stripe.com"),
            Ok(())
        );
        assert_eq!(
            egress.check_base_url(stripe(), "https://API.Stripe.com./v1"),
            Ok(())
        );
        assert!(matches!(
            egress.check_base_url(stripe(), "https://attacker.example/anything?x="),
            Err(EgressError::UnknownHost { .. })
        ));
        assert!(matches!(
            egress.check_base_url(stripe(), "https://api.paystack.co"),
            Err(EgressError::UnknownHost { .. })
        ));
        assert!(matches!(
            egress.check_base_url(stripe(), "http://api.stripe.com"),
            Err(EgressError::NotHttps(_))
        ));
    }

    #[test]
    fn internal_addresses_are_refused_unless_allowed() {
        let egress = production("");
        for url in [
            "https://127.0.0.1:18922/anything?x=",
            "https://10.0.0.5",
            "https://169.254.169.254/latest/meta-data",
            "https://[::1]:8080",
            "https://[::ffff:127.0.0.1]",
            "https://[fd00::1]",
            "https://0.0.0.0",
        ] {
            assert!(
                matches!(
                    egress.check_base_url(stripe(), url),
                    Err(EgressError::InternalAddress { .. })
                ),
                "{url}"
            );
        }
        let with_proxy = production("proxy.internal, 10.0.0.5");
        assert_eq!(
            with_proxy.check_base_url(stripe(), "http://proxy.internal:3128"),
            Ok(())
        );
        assert_eq!(
            with_proxy.check_base_url(stripe(), "https://10.0.0.5"),
            Ok(())
        );
        assert!(with_proxy
            .check_address("proxy.internal", "10.1.1.1".parse().unwrap())
            .is_ok());
        assert!(with_proxy
            .check_address("api.stripe.com", "10.1.1.1".parse().unwrap())
            .is_err());
        assert!(with_proxy
            .check_address("api.stripe.com", "54.187.174.169".parse().unwrap())
            .is_ok());
    }

    #[test]
    fn urls_that_hide_their_host_are_malformed_everywhere() {
        for egress in [Egress::default(), production("")] {
            for url in [
                "https://api.stripe.com@attacker.example/",
                "ftp://api.stripe.com",
                "api.stripe.com",
                "https://",
            ] {
                assert!(
                    matches!(
                        egress.check_base_url(stripe(), url),
                        Err(EgressError::Malformed(_))
                    ),
                    "{url}"
                );
            }
        }
    }

    #[test]
    fn development_takes_any_url_but_keeps_only_the_catalogues_answers() {
        let egress = Egress::default();
        assert_eq!(
            egress.check_base_url(stripe(), "http://127.0.0.1:18922/x"),
            Ok(())
        );
        assert!(keeps_answers(stripe(), "https://api.stripe.com"));
        assert!(!keeps_answers(stripe(), "http://127.0.0.1:18922/x"));
        let smtp = catalogue::provider("smtp").unwrap();
        assert!(catalogue_hosts(smtp).is_empty());
    }

    #[test]
    fn the_catalogue_hosts_are_the_sandbox_and_production_hosts() {
        let mpesa = catalogue::provider("mpesa").unwrap();
        assert_eq!(
            catalogue_hosts(mpesa),
            ["sandbox.safaricom.co.ke", "api.safaricom.co.ke"]
        );
        assert_eq!(catalogue_hosts(stripe()), ["api.stripe.com"]);
    }
}
