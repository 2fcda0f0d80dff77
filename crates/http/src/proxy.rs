//! Who the client is (API.md §1.7): the socket peer, or behind trusted proxies the
//! `X-Forwarded-For` entry they vouch for; and its key for the rate limit.

use std::net::IpAddr;

use actix_web::HttpRequest;
use actix_web::http::header;
use ipnet::IpNet;

/// The peers whose `X-Forwarded-For` is believed (`rate_limit.trusted_proxies`): exact
/// addresses or CIDR ranges, so that an ingress whose pods change address on every restart can
/// be trusted by its network.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// Parses `10.0.0.7`, `10.42.0.0/16`, `::1` or `fd00::/8` entries.
    ///
    /// # Errors
    /// The first entry that is neither an address nor a CIDR range.
    pub fn parse<S: AsRef<str>>(entries: &[S]) -> Result<Self, String> {
        entries
            .iter()
            .map(|e| {
                let e = e.as_ref().trim();
                e.parse::<IpNet>()
                    .map(|n| n.trunc())
                    .or_else(|_| e.parse::<IpAddr>().map(|a| IpNet::from(canonical(a))))
                    .map_err(|_| {
                        format!("'{e}' is neither an IP address nor a CIDR range (e.g. 10.0.0.0/8)")
                    })
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Self)
    }

    /// Whether `ip` is one of the trusted proxies.
    #[must_use]
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// Whether no proxy is trusted.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// An IPv4-mapped IPv6 address (`::ffff:10.0.0.1`, a dual-stack socket's view of an IPv4 peer)
/// compares as the IPv4 address it carries.
#[must_use]
pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        IpAddr::V4(_) => ip,
    }
}

/// The key of a client for the rate limit (API.md §1.7): its address, or for IPv6 its /64
/// prefix — one subscriber's whole allocation, or an attacker would have 2^64 budgets.
#[must_use]
pub fn limit_key(ip: IpAddr) -> IpAddr {
    match canonical(ip) {
        IpAddr::V6(v6) => IpAddr::V6((u128::from(v6) & !u128::from(u64::MAX)).into()),
        v4 @ IpAddr::V4(_) => v4,
    }
}

/// The client IP (API.md §1.7): the socket peer, unless the peer is a trusted proxy — then
/// `X-Forwarded-For` is read from the right and the client is the first entry that is not a
/// trusted proxy. An entry that is not a plain address (`unknown`, `ip:port`, garbage) stops the
/// walk: the last trusted hop before it (the peer, if none) is the client, so that nothing an
/// attacker wrote to the left of it can be chosen.
#[must_use]
pub fn client_ip(req: &HttpRequest, trusted: &TrustedProxies) -> Option<IpAddr> {
    let peer = canonical(req.peer_addr().map(|a| a.ip())?);
    if !trusted.contains(peer) {
        return Some(peer);
    }
    let headers: Vec<&str> = req
        .headers()
        .get_all(header::X_FORWARDED_FOR)
        .map(|v| v.to_str().unwrap_or(""))
        .collect();
    let mut client = peer;
    // Several header lines are one list, in order.
    for entry in headers.iter().rev().flat_map(|v| v.rsplit(',')) {
        let Ok(ip) = entry.trim().parse::<IpAddr>() else {
            break;
        };
        client = canonical(ip);
        if !trusted.contains(client) {
            break;
        }
    }
    Some(client)
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    fn req(peer: &str, xff: Option<&str>) -> HttpRequest {
        let mut r = TestRequest::default().peer_addr(format!("{peer}:4000").parse().unwrap());
        if let Some(x) = xff {
            r = r.insert_header(("X-Forwarded-For", x));
        }
        r.to_http_request()
    }

    fn trusted(entries: &[&str]) -> TrustedProxies {
        TrustedProxies::parse(entries).unwrap()
    }

    fn ip(s: &str) -> Option<IpAddr> {
        s.parse().ok()
    }

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let trusted = trusted(&["10.0.0.1", "10.0.0.2"]);
        assert_eq!(
            client_ip(&req("203.0.113.9", Some("1.2.3.4")), &trusted),
            ip("203.0.113.9")
        );
        assert_eq!(
            client_ip(&req("10.0.0.1", Some("1.2.3.4")), &trusted),
            ip("1.2.3.4")
        );
        assert_eq!(
            client_ip(
                &req("10.0.0.1", Some("6.6.6.6, 1.2.3.4, 10.0.0.2")),
                &trusted
            ),
            ip("1.2.3.4")
        );
        assert_eq!(client_ip(&req("10.0.0.1", None), &trusted), ip("10.0.0.1"));
    }

    #[test]
    fn cidr_ranges_are_trusted_and_mapped_peers_compare_as_ipv4() {
        let trusted = trusted(&["10.42.0.0/16", "fd00::/8"]);
        assert_eq!(
            client_ip(&req("10.42.7.9", Some("198.51.100.4, 10.42.1.1")), &trusted),
            ip("198.51.100.4")
        );
        assert_eq!(
            client_ip(&req("10.43.0.1", Some("198.51.100.4")), &trusted),
            ip("10.43.0.1"),
            "outside the range"
        );
        assert_eq!(
            client_ip(&req("[::ffff:10.42.0.5]", Some("198.51.100.4")), &trusted),
            ip("198.51.100.4"),
            "an IPv4-mapped peer is the IPv4 proxy"
        );
        assert_eq!(
            client_ip(&req("[fd00::7]", Some("2001:db8::1")), &trusted),
            ip("2001:db8::1")
        );
        assert!(TrustedProxies::parse(&["10.0.0.0/33"]).is_err());
        assert!(TrustedProxies::parse(&["proxy.local"]).is_err());
        assert!(
            TrustedProxies::parse(&["10.1.2.3/8"])
                .unwrap()
                .contains("10.9.9.9".parse().unwrap())
        );
    }

    #[test]
    fn an_entry_that_is_not_an_address_stops_the_walk() {
        let trusted = trusted(&["10.0.0.0/8"]);
        for bad in ["unknown", "1.2.3.4:5678", "garbage", ""] {
            assert_eq!(
                client_ip(&req("10.0.0.1", Some(&format!("6.6.6.6, {bad}"))), &trusted),
                ip("10.0.0.1"),
                "'{bad}' right of the attacker's value: the peer is the client"
            );
            assert_eq!(
                client_ip(
                    &req("10.0.0.1", Some(&format!("6.6.6.6, {bad}, 10.0.0.9"))),
                    &trusted
                ),
                ip("10.0.0.9"),
                "'{bad}': the last trusted hop before it is the client"
            );
        }
    }

    #[test]
    fn ipv6_clients_share_their_64_prefix_budget() {
        let a = limit_key("2001:db8:1:2:aaaa::1".parse().unwrap());
        let b = limit_key("2001:db8:1:2:bbbb:cccc:dddd:eeee".parse().unwrap());
        let other = limit_key("2001:db8:1:3::1".parse().unwrap());
        assert_eq!(a, b);
        assert_ne!(a, other);
        assert_eq!(a, "2001:db8:1:2::".parse::<IpAddr>().unwrap());
        assert_eq!(
            limit_key("198.51.100.4".parse().unwrap()),
            "198.51.100.4".parse::<IpAddr>().unwrap()
        );
    }

    #[test]
    fn several_header_lines_are_one_list() {
        let trusted = trusted(&["10.0.0.0/8"]);
        let r = TestRequest::default()
            .peer_addr("10.0.0.1:4000".parse().unwrap())
            .append_header(("X-Forwarded-For", "6.6.6.6"))
            .append_header(("X-Forwarded-For", "198.51.100.4, 10.0.0.3"))
            .to_http_request();
        assert_eq!(client_ip(&r, &trusted), ip("198.51.100.4"));
    }
}
