//! The network guard of `webfetch`: which addresses a fetch may reach, checked where it counts.
//! A name is resolved by our own resolver, which drops loopback, private, link-local, CGNAT,
//! multicast and similar addresses before the client connects, so the connection goes to an
//! address that was checked (a DNS rebinding between check and connect cannot reach
//! 127.0.0.1). Addresses written in the URL are checked before the request, redirects are
//! followed by hand with the same checks, and proxies are off (a proxy would resolve names
//! for us).

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use url::{Host, Url};

/// Names refused before any lookup: local names and cloud metadata services.
const BLOCKED_NAMES: &[&str] = &[
    "localhost",
    "localhost.localdomain",
    "metadata.google.internal",
    "metadata.azure.com",
    "metadata.googleusercontent.com",
    "instance-data",
    "instance-data.ec2.internal",
];

/// What `webfetch` may reach. The default refuses every non-public address.
#[derive(Debug, Clone, Default)]
pub struct NetPolicy {
    /// Let private and loopback addresses through: only for tests against a local server.
    pub allow_private: bool,
    /// Addresses (IP and port) that a URL may name literally although they are private: only
    /// for tests. Names are never exempt.
    pub exempt: Vec<SocketAddr>,
    /// Names answered from this table instead of DNS (then vetted like any answer): for tests.
    pub hosts: HashMap<String, Vec<IpAddr>>,
}

/// A fetch refused because of where it would go.
#[derive(Debug, thiserror::Error)]
#[error("Access to private IP addresses and localhost is not allowed: {0}")]
pub struct Refused(pub String);

/// Whether an address is anything but a public unicast one.
pub fn is_blocked_ip(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_blocked_v4(v4),
        IpAddr::V6(v6) => is_blocked_v6(v6),
    }
}

fn is_blocked_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local() // 169.254/16, the metadata address 169.254.169.254 included
        || ip.is_multicast()
        || ip.is_broadcast()
        || a == 0
        || (a == 100 && (64..128).contains(&b)) // CGNAT 100.64/10
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || a >= 240 // reserved
}

fn is_blocked_v6(ip: Ipv6Addr) -> bool {
    let seg = ip.segments();
    // An IPv4 address inside IPv6 (mapped ::ffff:a.b.c.d, NAT64 64:ff9b::a.b.c.d, old
    // compatible ::a.b.c.d) is judged as that IPv4 address.
    let embedded = Ipv4Addr::new(
        (seg[6] >> 8) as u8,
        seg[6] as u8,
        (seg[7] >> 8) as u8,
        seg[7] as u8,
    );
    let mapped = seg[..5] == [0; 5] && seg[5] == 0xffff;
    let nat64 = seg[0] == 0x64 && seg[1] == 0xff9b && seg[2..6] == [0; 4];
    let compatible = seg[..6] == [0; 6] && !ip.is_unspecified() && !ip.is_loopback();
    if mapped || nat64 || compatible {
        return is_blocked_v4(embedded);
    }
    ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        || (seg[0] & 0xfe00) == 0xfc00 // unique local fc00::/7, fd00:ec2::254 included
        || (seg[0] & 0xffc0) == 0xfe80 // link-local
        || (seg[0] & 0xffc0) == 0xfec0 // site-local (deprecated)
}

fn is_blocked_name(host: &str) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    BLOCKED_NAMES.contains(&host.as_str()) || host.ends_with(".localhost")
}

impl NetPolicy {
    /// Checks a URL before it is requested: its scheme, a literal address, a refused name.
    pub fn vet(&self, url: &Url) -> Result<(), String> {
        if !matches!(url.scheme(), "http" | "https") {
            return Err(format!(
                "Only HTTP and HTTPS URLs are allowed. Blocked: {}:",
                url.scheme()
            ));
        }
        let port = url.port_or_known_default().unwrap_or(0);
        let literal = match url.host() {
            Some(Host::Ipv4(ip)) => IpAddr::V4(ip),
            Some(Host::Ipv6(ip)) => IpAddr::V6(ip),
            Some(Host::Domain(name)) if !self.allow_private && is_blocked_name(name) => {
                return Err(Refused(name.to_owned()).to_string());
            }
            Some(Host::Domain(_)) => return Ok(()),
            None => return Err(format!("Invalid URL: {url}")),
        };
        let allowed = self.allow_private
            || !is_blocked_ip(literal)
            || self.exempt.contains(&SocketAddr::new(literal, port));
        if allowed {
            Ok(())
        } else {
            Err(Refused(literal.to_string()).to_string())
        }
    }
}

/// Resolves names and keeps only the addresses the policy allows.
pub struct VettedResolver {
    pub policy: Arc<NetPolicy>,
}

impl Resolve for VettedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = Arc::clone(&self.policy);
        let allow = policy.allow_private;
        let host = name.as_str().to_owned();
        Box::pin(async move {
            if !allow && is_blocked_name(&host) {
                return Err(Box::new(Refused(host)) as _);
            }
            let found: Vec<IpAddr> = match policy.hosts.get(&host) {
                Some(ips) => ips.clone(),
                None => tokio::net::lookup_host((host.as_str(), 0))
                    .await?
                    .map(|a| a.ip())
                    .collect(),
            };
            let kept: Vec<SocketAddr> = found
                .into_iter()
                .filter(|ip| allow || !is_blocked_ip(*ip))
                .map(|ip| SocketAddr::new(ip, 0))
                .collect();
            if kept.is_empty() {
                return Err(Box::new(Refused(host)) as _);
            }
            Ok(Box::new(kept.into_iter()) as Addrs)
        })
    }
}

/// The message of a failed request: the refusal when the resolver refused, else the cause.
pub fn describe(err: &reqwest::Error) -> String {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = source {
        if let Some(refused) = e.downcast_ref::<Refused>() {
            return refused.to_string();
        }
        source = e.source();
    }
    if err.is_timeout() {
        return "Request timed out".to_owned();
    }
    let mut text = err.to_string();
    let mut cause = std::error::Error::source(err);
    while let Some(c) = cause {
        text = format!("{text}: {c}");
        cause = c.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_public_addresses_are_blocked() {
        let blocked = [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "224.0.0.1",
            "255.255.255.255",
            "::1",
            "::",
            "fd00:ec2::254",
            "fc00::1",
            "fe80::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::7f00:1",
        ];
        for ip in blocked {
            assert!(is_blocked_ip(ip.parse().unwrap()), "{ip}");
        }
        for ip in [
            "93.184.216.34",
            "1.1.1.1",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
        ] {
            assert!(!is_blocked_ip(ip.parse().unwrap()), "{ip}");
        }
    }

    #[test]
    fn urls_are_vetted_by_scheme_literal_address_and_name() {
        let policy = NetPolicy::default();
        let vet = |u: &str| policy.vet(&Url::parse(u).unwrap());
        assert!(vet("https://example.com/").is_ok());
        assert_eq!(
            vet("ftp://example.com/").unwrap_err(),
            "Only HTTP and HTTPS URLs are allowed. Blocked: ftp:"
        );
        for url in [
            "http://127.0.0.1:8742/api",
            "http://[::1]/",
            "http://2130706433/",
            "http://0x7f.1/",
            "http://169.254.169.254/latest",
            "http://localhost/",
            "http://api.localhost/",
            "http://metadata.google.internal/",
            "http://[::ffff:7f00:1]/",
        ] {
            let err = vet(url).unwrap_err();
            assert!(
                err.starts_with("Access to private IP addresses"),
                "{url}: {err}"
            );
        }
    }

    #[test]
    fn an_exempt_address_passes_only_with_its_port() {
        let policy = NetPolicy {
            exempt: vec!["127.0.0.1:4000".parse().unwrap()],
            ..Default::default()
        };
        assert!(
            policy
                .vet(&Url::parse("http://127.0.0.1:4000/").unwrap())
                .is_ok()
        );
        assert!(
            policy
                .vet(&Url::parse("http://127.0.0.1:4001/").unwrap())
                .is_err()
        );
        assert!(
            policy
                .vet(&Url::parse("http://localhost:4000/").unwrap())
                .is_err()
        );
    }

    #[tokio::test]
    async fn the_resolver_refuses_a_name_that_resolves_to_loopback_only() {
        let hosts = HashMap::from([
            ("rebind.test".to_owned(), vec!["127.0.0.1".parse().unwrap()]),
            (
                "mixed.test".to_owned(),
                vec![
                    "10.0.0.1".parse().unwrap(),
                    "93.184.216.34".parse().unwrap(),
                ],
            ),
        ]);
        let resolver = VettedResolver {
            policy: Arc::new(NetPolicy {
                hosts,
                ..Default::default()
            }),
        };
        let err = resolver
            .resolve("localhost".parse().unwrap())
            .await
            .err()
            .unwrap();
        assert!(
            err.to_string()
                .starts_with("Access to private IP addresses")
        );
        let err = resolver
            .resolve("rebind.test".parse().unwrap())
            .await
            .err()
            .unwrap();
        assert_eq!(
            err.to_string(),
            "Access to private IP addresses and localhost is not allowed: rebind.test"
        );
        let kept: Vec<_> = resolver
            .resolve("mixed.test".parse().unwrap())
            .await
            .unwrap()
            .collect();
        assert_eq!(kept, ["93.184.216.34:0".parse::<SocketAddr>().unwrap()]);
    }
}
