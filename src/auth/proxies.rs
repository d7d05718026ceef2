//! Who the client is behind a reverse proxy. Every connection through a proxy comes from the
//! proxy's address, so 20 wrong tokens from anyone would lock everyone out, the owner included.
//! From the peers listed in `JEAN2_TRUSTED_PROXIES` (none by default) the client is the
//! right-most address of `X-Forwarded-For` that is not itself a trusted proxy: addresses to its
//! left were written by the client and prove nothing. That address is what the failed-attempt
//! limiters count and the logs show. From any other peer the header is ignored.

use std::net::IpAddr;

use axum::http::HeaderMap;
use ipnet::IpNet;

/// The `JEAN2_TRUSTED_PROXIES` networks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    pub fn new(nets: Vec<IpNet>) -> Self {
        Self(nets)
    }

    /// Whether `ip` is one of the trusted proxies (IPv4-mapped IPv6 counts as IPv4).
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// The client of a request that came from `peer` with these headers.
    pub fn client_ip(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        if !self.contains(peer) {
            return peer;
        }
        let hops: Vec<&str> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .collect();
        let mut client = peer;
        for hop in hops.iter().rev() {
            // An entry that is not an address ends the chain: the last good hop is the client.
            let Some(ip) = parse_hop(hop) else {
                return client;
            };
            client = ip;
            if !self.contains(ip) {
                return ip;
            }
        }
        client
    }
}

/// One `X-Forwarded-For` entry: an address, optionally bracketed or with a port.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    let hop = hop.trim();
    if let Ok(ip) = hop.parse::<IpAddr>() {
        return Some(ip.to_canonical());
    }
    if let Ok(sock) = hop.parse::<std::net::SocketAddr>() {
        return Some(sock.ip().to_canonical());
    }
    let bare = hop.strip_prefix('[')?.strip_suffix(']')?;
    bare.parse::<IpAddr>().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proxies(list: &str) -> TrustedProxies {
        TrustedProxies::new(list.split(',').map(|s| s.trim().parse().unwrap()).collect())
    }

    fn xff(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append("x-forwarded-for", v.parse().unwrap());
        }
        h
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn only_a_trusted_peer_is_believed_and_only_for_the_right_most_untrusted_hop() {
        let p = proxies("127.0.0.1/32, 10.0.0.0/8");
        let cases = [
            (
                "untrusted peer",
                "203.0.113.9",
                vec!["198.51.100.1"],
                "203.0.113.9",
            ),
            ("no header", "127.0.0.1", vec![], "127.0.0.1"),
            ("one hop", "127.0.0.1", vec!["198.51.100.1"], "198.51.100.1"),
            (
                "a forged left-most entry is ignored",
                "127.0.0.1",
                vec!["1.1.1.1, 198.51.100.1"],
                "198.51.100.1",
            ),
            (
                "trusted hops are skipped",
                "127.0.0.1",
                vec!["198.51.100.1, 10.1.2.3", "10.0.0.7"],
                "198.51.100.1",
            ),
            (
                "garbage ends the chain",
                "127.0.0.1",
                vec!["198.51.100.1, nonsense"],
                "127.0.0.1",
            ),
            ("all trusted", "127.0.0.1", vec!["10.0.0.1"], "10.0.0.1"),
            (
                "with a port",
                "127.0.0.1",
                vec!["198.51.100.1:4711"],
                "198.51.100.1",
            ),
            (
                "bracketed IPv6",
                "127.0.0.1",
                vec!["[2001:db8::1]"],
                "2001:db8::1",
            ),
            (
                "mapped peer",
                "::ffff:127.0.0.1",
                vec!["198.51.100.1"],
                "198.51.100.1",
            ),
        ];
        for (label, peer, headers, want) in cases {
            assert_eq!(p.client_ip(ip(peer), &xff(&headers)), ip(want), "{label}");
        }
        assert_eq!(
            TrustedProxies::default().client_ip(ip("127.0.0.1"), &xff(&["198.51.100.1"])),
            ip("127.0.0.1"),
            "no trusted proxies: the header is ignored"
        );
    }
}
