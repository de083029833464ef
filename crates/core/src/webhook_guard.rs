//! Where webhooks may not go: internal addresses, unless the operator named the receiver.
//!
//! A project user who adds a webhook chooses where the server sends requests. Without this
//! rule that reaches the server's own loopback services, the private network behind it and
//! cloud metadata endpoints (169.254.169.254). The server checks each address a receiver's
//! name resolves to when it delivers (so a name cannot change its answer after a check), and
//! address literals also when the webhook is added. Pure functions: no IO.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Whether `ip` is loopback, private, link-local, unspecified, multicast, broadcast, shared
/// (carrier-grade NAT) or reserved — an address no public receiver has — including IPv6's
/// equivalents and IPv4 addresses wrapped in IPv6 (mapped, compatible, NAT64, 6to4).
pub fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_internal_v4(v4),
        IpAddr::V6(v6) => is_internal_v6(v6),
    }
}

fn is_internal_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_multicast()
        || ip.is_broadcast()
        || a == 0 // "this network"
        || (a == 100 && (64..128).contains(&b)) // shared address space (RFC 6598)
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || a >= 240 // reserved
}

fn is_internal_v6(ip: Ipv6Addr) -> bool {
    let s = ip.segments();
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_internal_v4(v4);
    }
    let embedded_v4 = |hi: u16, lo: u16| Ipv4Addr::new((hi >> 8) as u8, hi as u8, (lo >> 8) as u8, lo as u8);
    ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || (s[0] & 0xfe00) == 0xfc00 // unique local
        || (s[0] & 0xffc0) == 0xfe80 // link-local
        || (s[0] & 0xffc0) == 0xfec0 // site-local (deprecated, still routed internally)
        || (s[..6] == [0; 6] && is_internal_v4(embedded_v4(s[6], s[7]))) // IPv4-compatible
        || (s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] && is_internal_v4(embedded_v4(s[6], s[7]))) // NAT64
        || (s[0] == 0x2002 && is_internal_v4(embedded_v4(s[1], s[2]))) // 6to4
}

/// Whether the operator allowed `host:port` (`--webhook-allow-host HOST` allows every port of
/// it, `HOST:PORT` that port). Host names compare without case; IPv6 hosts without brackets.
pub fn allowed(allow: &[String], host: &str, port: u16) -> bool {
    let host = host.trim_matches(['[', ']']);
    allow.iter().any(|entry| {
        let (h, p) = split_host_port(entry);
        h.eq_ignore_ascii_case(host) && p.is_none_or(|p| p == port)
    })
}

/// `HOST`, `HOST:PORT`, `[V6]` or `[V6]:PORT` → host and port; a bare IPv6 address is a host.
fn split_host_port(entry: &str) -> (&str, Option<u16>) {
    if let Some(rest) = entry.strip_prefix('[')
        && let Some((host, after)) = rest.split_once(']')
    {
        return (host, after.strip_prefix(':').and_then(|p| p.parse().ok()));
    }
    match entry.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') => match port.parse() {
            Ok(port) => (host, Some(port)),
            Err(_) => (entry, None),
        },
        _ => (entry, None),
    }
}

/// Checks one `--webhook-allow-host` value: a host name or address, optionally with a port.
pub fn validate_allow_entry(entry: &str) -> Result<(), String> {
    let (host, port) = split_host_port(entry);
    if host.is_empty() || host.contains(['/', '@', ' ']) {
        return Err(format!("{entry:?} is not HOST or HOST:PORT"));
    }
    if entry.rsplit_once(':').is_some_and(|(h, p)| !h.contains(':') && port.is_none() && !p.is_empty()) {
        return Err(format!("{entry:?}: the port must be a number from 0 to 65535"));
    }
    Ok(())
}

/// A URL's host as a name that needs no resolver to be internal: an address literal or
/// `localhost` (and its subdomains, which resolvers answer with loopback).
pub fn literal_internal(host: &str) -> bool {
    let host = host.trim_matches(['[', ']']);
    let lower = host.to_ascii_lowercase();
    lower == "localhost" || lower.ends_with(".localhost") || host.parse::<IpAddr>().is_ok_and(is_internal)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn internal(text: &str) -> bool {
        is_internal(text.parse().unwrap())
    }

    #[test]
    fn internal_addresses_of_both_families_are_recognised() {
        for ip in [
            "127.0.0.1",
            "127.5.6.7",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "0.1.2.3",
            "100.64.0.1",
            "224.0.0.1",
            "255.255.255.255",
            "240.0.0.1",
            "::1",
            "::",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "::127.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "2002:7f00:1::",
        ] {
            assert!(internal(ip), "{ip} is internal");
        }
        for ip in
            ["8.8.8.8", "1.1.1.1", "172.32.0.1", "100.128.0.1", "2606:4700::1111", "::ffff:8.8.8.8", "2002:808:808::"]
        {
            assert!(!internal(ip), "{ip} is public");
        }
    }

    #[test]
    fn the_allow_list_names_hosts_with_or_without_a_port() {
        let allow = vec!["127.0.0.1:9000".to_string(), "Hooks.Local".to_string(), "[::1]:8080".to_string()];
        assert!(allowed(&allow, "127.0.0.1", 9000));
        assert!(!allowed(&allow, "127.0.0.1", 9001));
        assert!(allowed(&allow, "hooks.local", 1));
        assert!(allowed(&allow, "[::1]", 8080));
        assert!(!allowed(&allow, "::1", 80));
        assert!(!allowed(&[], "127.0.0.1", 80));
        assert!(validate_allow_entry("127.0.0.1:9000").is_ok());
        assert!(validate_allow_entry("hooks.local").is_ok());
        assert!(validate_allow_entry("[::1]:8080").is_ok());
        assert!(validate_allow_entry("host:port").is_err());
        assert!(validate_allow_entry("http://x/").is_err());
    }

    #[test]
    fn literals_and_localhost_are_internal_without_a_resolver() {
        assert!(literal_internal("localhost"));
        assert!(literal_internal("api.localhost"));
        assert!(literal_internal("[::1]"));
        assert!(literal_internal("169.254.169.254"));
        assert!(!literal_internal("hooks.example.com"));
        assert!(!literal_internal("8.8.8.8"));
    }
}
