//! Who a request came from. The peer's address, unless the peer is one of
//! the deployment's own proxies (`TRUSTED_PROXIES`, CIDRs): then the
//! address those proxies recorded in `Forwarded` or `X-Forwarded-For`,
//! read from the right (the proxies append), skipping addresses that are
//! themselves trusted proxies. Headers from anyone else are ignored, so a
//! client cannot claim another address to escape its rate limit.

use std::net::IpAddr;

/// The deployment's proxies, as a request extension (set by the router).
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(pub std::sync::Arc<Vec<Cidr>>);

/// A network: an address and the number of leading bits that matter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    network: IpAddr,
    bits: u8,
}

impl std::str::FromStr for Cidr {
    type Err = String;

    /// `10.0.0.0/8`, `2001:db8::/32`, or a single address.
    fn from_str(raw: &str) -> Result<Self, String> {
        let raw = raw.trim();
        let (address, bits) = raw
            .split_once('/')
            .map_or((raw, None), |(a, b)| (a, Some(b)));
        let network: IpAddr = address
            .parse()
            .map_err(|_| format!("{raw:?} is not an address or CIDR"))?;
        let max = if network.is_ipv4() { 32 } else { 128 };
        let bits = match bits {
            None => max,
            Some(bits) => bits
                .parse::<u8>()
                .ok()
                .filter(|b| *b <= max)
                .ok_or_else(|| format!("{raw:?} has a prefix length outside 0 to {max}"))?,
        };
        Ok(Self { network, bits })
    }
}

impl Cidr {
    /// Whether `address` is inside this network.
    pub fn contains(&self, address: IpAddr) -> bool {
        let address = unmapped(address);
        match (self.network, address) {
            (IpAddr::V4(net), IpAddr::V4(addr)) => {
                prefix_eq(&net.octets(), &addr.octets(), self.bits)
            }
            (IpAddr::V6(net), IpAddr::V6(addr)) => {
                prefix_eq(&net.octets(), &addr.octets(), self.bits)
            }
            _ => false,
        }
    }
}

fn unmapped(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(address, IpAddr::V4),
        v4 => v4,
    }
}

fn prefix_eq(a: &[u8], b: &[u8], bits: u8) -> bool {
    let whole = usize::from(bits / 8);
    let rest = bits % 8;
    if a[..whole] != b[..whole] {
        return false;
    }
    if rest == 0 {
        return true;
    }
    let mask = 0xffu8 << (8 - rest);
    (a[whole] & mask) == (b[whole] & mask)
}

/// Parses `TRUSTED_PROXIES`: comma-separated CIDRs or addresses.
///
/// # Errors
/// Naming the entry that is neither.
pub fn parse_trusted(raw: &str) -> Result<Vec<Cidr>, String> {
    raw.split(',')
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
        .map(str::parse)
        .collect()
}

/// The client's address: `peer` unless it is a trusted proxy, in which case
/// the right-most address in `forwarded` (the `Forwarded` header) or else
/// `x_forwarded_for` that is not itself a trusted proxy.
pub fn client(
    peer: IpAddr,
    trusted: &[Cidr],
    forwarded: Option<&str>,
    x_forwarded_for: Option<&str>,
) -> IpAddr {
    let is_trusted = |address: IpAddr| trusted.iter().any(|net| net.contains(address));
    if !is_trusted(peer) {
        return peer;
    }
    let chain: Vec<IpAddr> = match (forwarded, x_forwarded_for) {
        (Some(forwarded), _) => forwarded.split(',').filter_map(forwarded_for).collect(),
        (None, Some(list)) => list.split(',').filter_map(|a| address(a.trim())).collect(),
        (None, None) => Vec::new(),
    };
    chain
        .into_iter()
        .rev()
        .find(|address| !is_trusted(*address))
        .unwrap_or(peer)
}

/// The `for=` of one `Forwarded` element (`for=192.0.2.60;proto=https`,
/// `for="[2001:db8::1]:4711"`).
fn forwarded_for(element: &str) -> Option<IpAddr> {
    element.split(';').find_map(|pair| {
        let (name, value) = pair.split_once('=')?;
        if !name.trim().eq_ignore_ascii_case("for") {
            return None;
        }
        address(value.trim().trim_matches('"'))
    })
}

/// An address, with or without brackets and a port.
fn address(raw: &str) -> Option<IpAddr> {
    if let Ok(address) = raw.parse() {
        return Some(address);
    }
    if let Some(bracketed) = raw.strip_prefix('[') {
        return bracketed.split(']').next()?.parse().ok();
    }
    raw.rsplit_once(':')?.0.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn proxies() -> Vec<Cidr> {
        parse_trusted("10.0.0.0/8, 192.168.1.7, fd00::/8").unwrap()
    }

    #[test]
    fn networks_contain_their_addresses_only() {
        let net: Cidr = "10.1.0.0/16".parse().unwrap();
        assert!(net.contains(ip("10.1.255.3")));
        assert!(!net.contains(ip("10.2.0.1")));
        assert!(net.contains(ip("::ffff:10.1.2.3")));
        let odd: Cidr = "172.16.0.0/12".parse().unwrap();
        assert!(odd.contains(ip("172.31.255.255")));
        assert!(!odd.contains(ip("172.32.0.0")));
        let v6: Cidr = "2001:db8::/32".parse().unwrap();
        assert!(v6.contains(ip("2001:db8:ffff::1")));
        assert!(!v6.contains(ip("10.1.2.3")));
        assert!(parse_trusted("10.0.0.0/33").is_err());
        assert!(parse_trusted("proxy.internal").is_err());
    }

    #[test]
    fn headers_from_anyone_but_a_trusted_proxy_are_ignored() {
        assert_eq!(
            client(ip("203.0.113.9"), &proxies(), None, Some("1.2.3.4")),
            ip("203.0.113.9")
        );
        assert_eq!(
            client(ip("203.0.113.9"), &[], Some("for=1.2.3.4"), None),
            ip("203.0.113.9")
        );
    }

    #[test]
    fn behind_a_trusted_proxy_the_rightmost_untrusted_address_is_the_client() {
        // A client may put anything on the left; the proxies append.
        let header = "6.6.6.6, 198.51.100.20, 10.0.0.3";
        assert_eq!(
            client(ip("10.0.0.2"), &proxies(), None, Some(header)),
            ip("198.51.100.20")
        );
        let forwarded = r#"for=6.6.6.6, for="[2001:db8::1]:4711";proto=https, for=192.168.1.7"#;
        assert_eq!(
            client(ip("10.0.0.2"), &proxies(), Some(forwarded), Some("9.9.9.9")),
            ip("2001:db8::1")
        );
        assert_eq!(
            client(ip("10.0.0.2"), &proxies(), None, None),
            ip("10.0.0.2"),
            "a proxy that says nothing is the client"
        );
        assert_eq!(
            client(ip("10.0.0.2"), &proxies(), None, Some("198.51.100.20:5555")),
            ip("198.51.100.20")
        );
    }
}
