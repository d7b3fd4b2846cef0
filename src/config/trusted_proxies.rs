//! `--trusted-proxies`: the reverse proxies whose forwarding headers are believed. The
//! middleware that applies it is `server::client_addr`.

use std::{net::IpAddr, str::FromStr, sync::Arc};

use axum::http::HeaderMap;
use ipnet::IpNet;

/// The proxies whose forwarding headers are believed: address ranges, or single addresses.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Arc<Vec<IpNet>>);

impl FromStr for TrustedProxies {
    type Err = String;

    /// `10.0.0.0/8, 127.0.0.1, ::1`: CIDR ranges or addresses, separated by commas.
    fn from_str(list: &str) -> Result<Self, String> {
        let mut nets = Vec::new();
        for item in list.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            let net = IpNet::from_str(item)
                .or_else(|_| IpAddr::from_str(item).map(IpNet::from))
                .map_err(|_| format!("`{item}` is not an address or a range such as 10.0.0.0/8"))?;
            nets.push(net);
        }
        Ok(TrustedProxies(Arc::new(nets)))
    }
}

impl TrustedProxies {
    pub fn trusts(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// The client of a connection from `peer` carrying `headers`. A trusted proxy vouches for
    /// the address it appended to `X-Forwarded-For` (the rightmost); when that address is a
    /// trusted proxy too (a CDN in front of the reverse proxy), it vouches for the one before,
    /// and so on: the client is the rightmost address no trusted proxy is at. What the client
    /// wrote itself, left of that, is never believed. Without `X-Forwarded-For`, the rightmost
    /// `Forwarded: for=`; without either, or from anyone else, the peer.
    pub fn client(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        if !self.trusts(peer) {
            return peer;
        }
        let chain: Vec<&str> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .collect();
        if chain.is_empty() {
            return client_ip::rightmost_forwarded(headers).unwrap_or(peer);
        }
        let mut client = peer;
        for entry in chain.iter().rev() {
            let Ok(addr) = entry.parse::<IpAddr>() else {
                break;
            };
            client = addr;
            if !self.trusts(addr) {
                break;
            }
        }
        client
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        h
    }

    #[test]
    fn forwarding_headers_count_only_from_a_trusted_proxy() {
        let trusted: TrustedProxies = "10.0.0.0/8, 127.0.0.1".parse().unwrap();
        let forwarded = headers(&[("x-forwarded-for", "6.6.6.6, 203.0.113.7")]);
        let proxy: IpAddr = "10.1.2.3".parse().unwrap();
        let stranger: IpAddr = "198.51.100.9".parse().unwrap();
        // The proxy appended the address it saw; what the client wrote before is ignored.
        assert_eq!(
            trusted.client(proxy, &forwarded),
            "203.0.113.7".parse::<IpAddr>().unwrap()
        );
        assert_eq!(trusted.client(stranger, &forwarded), stranger);
        let rfc = headers(&[("forwarded", "for=192.0.2.60;proto=https")]);
        assert_eq!(
            trusted.client(proxy, &rfc),
            "192.0.2.60".parse::<IpAddr>().unwrap()
        );
        // No header, or a broken one: the proxy itself.
        assert_eq!(trusted.client(proxy, &headers(&[])), proxy);
        assert_eq!(
            trusted.client(proxy, &headers(&[("x-forwarded-for", "nonsense")])),
            proxy
        );
        // Through a CDN in front of the trusted proxy: each trusted hop vouches for the one
        // before it, up to the first address that is not a proxy.
        let trusted: TrustedProxies = "127.0.0.1, ::1".parse().unwrap();
        let local: IpAddr = "127.0.0.1".parse().unwrap();
        let chain = headers(&[("x-forwarded-for", "6.6.6.6, 203.0.113.50, ::1")]);
        assert_eq!(
            trusted.client(local, &chain),
            "203.0.113.50".parse::<IpAddr>().unwrap()
        );
        let all_proxies = headers(&[("x-forwarded-for", "::1, 127.0.0.1")]);
        assert_eq!(
            trusted.client(local, &all_proxies),
            "::1".parse::<IpAddr>().unwrap()
        );
        let trusted: TrustedProxies = "10.0.0.0/8, 127.0.0.1".parse().unwrap();
        // Nobody is trusted by default.
        assert_eq!(TrustedProxies::default().client(proxy, &forwarded), proxy);
        // IPv4 peers seen through an IPv6 socket are matched as IPv4.
        assert!(trusted.trusts("::ffff:127.0.0.1".parse().unwrap()));
    }

    #[test]
    fn bad_ranges_are_named() {
        let err = "10.0.0.0/8, nowhere".parse::<TrustedProxies>().unwrap_err();
        assert!(err.contains("nowhere"), "{err}");
        assert!("".parse::<TrustedProxies>().unwrap().0.is_empty());
    }
}
