//! Compose `ports:` entries, both syntaxes, expanded to one published port per container port:
//! `"8080:80"`, `"53:53/udp"`, `"127.0.0.1:8080:80"`, `"[::1]:80:80"`, `"7000-7010:7000-7010"`,
//! `"80"` (any host port), and the long form `{target, published, host_ip, protocol}`.

/// One container port and where it is published.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    /// `None` when Compose picks any free host port.
    pub host: Option<u16>,
    pub container: u16,
    /// `tcp`, `udp` or `sctp`.
    pub protocol: String,
    /// An address the port is bound to, when not every address.
    pub host_ip: Option<String>,
}

/// Parses one short-syntax entry.
pub fn short(text: &str) -> Result<Vec<Published>, String> {
    let (spec, protocol) = match text.rsplit_once('/') {
        Some((s, p)) => (s, p.to_ascii_lowercase()),
        None => (text, "tcp".to_string()),
    };
    // An IPv6 address is written in brackets; take it off before splitting on `:`.
    let (ip, rest) = match spec.strip_prefix('[') {
        Some(r) => {
            let (ip, rest) = r.split_once(']').ok_or_else(|| format!("`{text}` has an unclosed `[`"))?;
            (Some(ip.to_string()), rest.strip_prefix(':').unwrap_or(rest))
        }
        None => (None, spec),
    };
    let parts: Vec<&str> = rest.split(':').collect();
    let (ip, host, container) = match (ip, parts.as_slice()) {
        (None, [c]) => (None, None, *c),
        (Some(ip), [h, c]) => (Some(ip), Some(*h), *c),
        (None, [h, c]) => (None, Some(*h), *c),
        (None, [ip, h, c]) => (Some(ip.to_string()), Some(*h), *c),
        _ => return Err(format!("`{text}` is not a port mapping Compose reads")),
    };
    let host = host.filter(|h| !h.is_empty());
    expand(host, container, &protocol, ip.filter(|i| !i.is_empty() && i != "0.0.0.0" && i != "::"), text)
}

/// Parses the long syntax's fields.
pub fn long(
    target: &str,
    published: Option<&str>,
    protocol: Option<&str>,
    host_ip: Option<&str>,
) -> Result<Vec<Published>, String> {
    let protocol = protocol.unwrap_or("tcp").to_ascii_lowercase();
    let ip = host_ip.filter(|i| !i.is_empty() && *i != "0.0.0.0" && *i != "::").map(str::to_string);
    expand(published.filter(|p| !p.is_empty()), target, &protocol, ip, target)
}

fn range(text: &str) -> Option<(u16, u16)> {
    match text.split_once('-') {
        Some((a, b)) => {
            let (a, b) = (a.trim().parse().ok()?, b.trim().parse().ok()?);
            (a <= b).then_some((a, b))
        }
        None => text.trim().parse().ok().map(|p| (p, p)),
    }
}

fn expand(
    host: Option<&str>,
    container: &str,
    protocol: &str,
    host_ip: Option<String>,
    text: &str,
) -> Result<Vec<Published>, String> {
    let bad = || format!("`{text}` is not a port mapping Compose reads");
    let (c0, c1) = range(container).ok_or_else(bad)?;
    let host = match host {
        Some(h) => Some(range(h).ok_or_else(bad)?),
        None => None,
    };
    let count = c1 - c0;
    let mut out = Vec::new();
    for i in 0..=count {
        let host = match host {
            // A host range as long as the container range maps port to port; a host range for
            // a single container port means "any free port of these", which is no fixed port.
            Some((h0, h1)) if h1 - h0 == count => Some(h0 + i),
            Some((h0, h1)) if h0 == h1 => Some(h0),
            Some(_) => None,
            None => None,
        };
        out.push(Published { host, container: c0 + i, protocol: protocol.to_string(), host_ip: host_ip.clone() });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str, expected: &[(Option<u16>, u16, &str, Option<&str>)]) {
        let got = short(text).unwrap();
        let want: Vec<Published> = expected
            .iter()
            .map(|(h, c, p, ip)| Published {
                host: *h,
                container: *c,
                protocol: p.to_string(),
                host_ip: ip.map(str::to_string),
            })
            .collect();
        assert_eq!(got, want, "{text}");
    }

    #[test]
    fn short_forms() {
        check("8080:80", &[(Some(8080), 80, "tcp", None)]);
        check("53:53/udp", &[(Some(53), 53, "udp", None)]);
        check("80", &[(None, 80, "tcp", None)]);
        check("127.0.0.1:8080:80", &[(Some(8080), 80, "tcp", Some("127.0.0.1"))]);
        check("0.0.0.0:80:80", &[(Some(80), 80, "tcp", None)]);
        check("[::1]:80:80/tcp", &[(Some(80), 80, "tcp", Some("::1"))]);
        check("127.0.0.1::80", &[(None, 80, "tcp", Some("127.0.0.1"))]);
        check(
            "7000-7002:8000-8002/udp",
            &[(Some(7000), 8000, "udp", None), (Some(7001), 8001, "udp", None), (Some(7002), 8002, "udp", None)],
        );
        check("9000-9010:80", &[(None, 80, "tcp", None)]);
        assert!(short("a:b").is_err());
        assert!(short("1:2:3:4").is_err());
    }

    #[test]
    fn long_form() {
        let got = long("80", Some("8080"), Some("udp"), Some("0.0.0.0")).unwrap();
        assert_eq!(got, vec![Published { host: Some(8080), container: 80, protocol: "udp".into(), host_ip: None }]);
    }
}
