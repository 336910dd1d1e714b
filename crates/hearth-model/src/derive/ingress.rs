//! Ingress (proxy, TLS, SSO, tunnel), DNS and router forwards.

use hearth_catalog::Catalog;
use hearth_spec::Spec;
use hearth_spec::ast::{Challenge, L4};

use crate::model::{BasicUser, Discovery, Dns, Forward, Ingress, Model, Tls};

/// The secret holding the basic-auth user name for `auth: basic` exposures.
pub const BASIC_AUTH_USER: &str = "proxy-basic-auth-user";
/// The secret holding the bcrypt hash of the basic-auth password.
pub const BASIC_AUTH_HASH: &str = "proxy-basic-auth-hash";

/// Where the Caddyfile Hearth renders reads the DNS provider's token and basic-auth credentials.
pub const CADDY_DNS_TOKEN_VAR: &str = "ACME_DNS_TOKEN";
pub const CADDY_BASIC_USER_VAR: &str = "HEARTH_BASIC_AUTH_USER";
pub const CADDY_BASIC_HASH_VAR: &str = "HEARTH_BASIC_AUTH_HASH";

/// The environment variable an ACME client reads the DNS provider's token from: lego's names
/// (`lego`: Traefik and NixOS's security.acme both use lego); the Caddyfile reads
/// [`CADDY_DNS_TOKEN_VAR`]; nginx's certbot uses a credentials file instead (`None`).
pub fn dns_token_var(client: &str, provider: &str) -> Option<String> {
    match client {
        "caddy" => Some(CADDY_DNS_TOKEN_VAR.into()),
        "lego" | "traefik" => Some(match provider {
            "cloudflare" => "CF_DNS_API_TOKEN".into(),
            "digitalocean" => "DO_AUTH_TOKEN".into(),
            "duckdns" => "DUCKDNS_TOKEN".into(),
            "hetzner" => "HETZNER_API_KEY".into(),
            "linode" => "LINODE_TOKEN".into(),
            "vultr" => "VULTR_API_KEY".into(),
            "desec" => "DESEC_TOKEN".into(),
            "gandiv5" => "GANDIV5_PERSONAL_ACCESS_TOKEN".into(),
            "ionos" => "IONOS_API_KEY".into(),
            other => format!("{}_API_TOKEN", other.to_ascii_uppercase().replace('-', "_")),
        }),
        _ => None,
    }
}

pub fn derive(spec: &Spec, catalog: &Catalog, model: &mut Model) {
    let app_of = |name: &Option<String>| {
        name.as_ref()
            .and_then(|n| model.services.get(n))
            .and_then(|s| s.app.clone())
            .filter(|a| catalog.get(a).is_some())
    };
    if let Some(i) = &spec.ingress {
        let name = |r: &Option<hearth_spec::Sp<String>>| r.as_ref().map(|r| r.value.clone());
        let tls = match &i.tls {
            Some(t) if t.none == Some(true) => Tls::None,
            Some(hearth_spec::ast::Tls { acme: Some(a), .. }) => Tls::Acme {
                email: a.email.value.clone(),
                challenge: a.challenge.unwrap_or(Challenge::Http),
                provider: a.provider.clone(),
                token: a.token.as_ref().map(|t| super::reference(spec, t)),
                server: a.server.clone(),
            },
            Some(t) if t.internal == Some(true) => Tls::Internal,
            _ => Tls::None,
        };
        let proxy = name(&i.proxy);
        let sso = name(&i.sso);
        model.ingress = Ingress {
            proxy_app: app_of(&proxy),
            proxy,
            tls,
            sso_app: app_of(&sso),
            sso,
            tunnel: name(&i.tunnel),
            vpn: name(&i.vpn),
            crowdsec: name(&i.crowdsec),
            basic_auth: i
                .basic_auth
                .entries
                .iter()
                .map(|e| BasicUser { name: e.name.clone(), password: super::reference(spec, &e.value.value) })
                .collect(),
            discover: discovery(spec, model),
        };
    }
    let server = spec.dns.as_ref().and_then(|d| d.server.as_ref()).map(|s| s.value.clone());
    let zone = spec
        .dns
        .as_ref()
        .and_then(|d| d.zone.as_ref())
        .map(|z| z.value.clone())
        .or_else(|| model.domain.clone())
        .unwrap_or_else(|| "home.arpa".into());
    model.dns = Dns { server_app: app_of(&server), server, zone };
    if let Some(r) = &spec.router {
        for f in &r.forwards {
            let to = f.to.value.clone();
            let to_address = model.machine_address(&to).or_else(|| model.services.get(&to).and_then(|s| s.address));
            model.forwards.push(Forward {
                port: f.port.value,
                protocol: f.protocol.unwrap_or(L4::Tcp),
                to,
                to_address,
                to_port: f.to_port.as_ref().map_or(f.port.value, |p| p.value),
            });
        }
    }
}

/// The machine of `discover.docker` and its socket proxy, when both exist (the checks report
/// what is missing).
fn discovery(spec: &Spec, model: &Model) -> Option<Discovery> {
    let machine = spec.ingress.as_ref()?.discover.as_ref()?.docker.as_ref()?.value.clone();
    let socket_proxy = crate::resolve::socket_proxy_of(spec, &machine)
        .map_or_else(|| crate::resolve::socket_proxy_name(&machine), str::to_string);
    model.services.get(&socket_proxy).filter(|s| s.on.name() == machine)?;
    Some(Discovery { machine, socket_proxy })
}

/// The source ranges an `allow:` entry stands for: a network's CIDR, the CIDRs of a zone's
/// networks (a network name wins over a zone of the same name, which by default is that network),
/// or a CIDR or address written out (an address as a /32 or /128). `None` when it is none of them.
pub fn allow_ranges(model: &Model, entry: &str) -> Option<Vec<String>> {
    if let Some(n) = model.networks.get(entry) {
        return Some(vec![n.cidr.clone()]);
    }
    let zone: Vec<String> = model.networks.values().filter(|n| n.zone == entry).map(|n| n.cidr.clone()).collect();
    if !zone.is_empty() {
        return Some(zone);
    }
    if let Ok(addr) = entry.parse::<std::net::IpAddr>() {
        return Some(vec![format!("{addr}/{}", if addr.is_ipv4() { 32 } else { 128 })]);
    }
    let (addr, len) = entry.split_once('/')?;
    let addr: std::net::IpAddr = addr.parse().ok()?;
    let len: u8 = len.parse().ok()?;
    (len <= if addr.is_ipv4() { 32 } else { 128 }).then(|| vec![format!("{addr}/{len}")])
}

/// The headers of the `secure` preset. HSTS only where the proxy serves HTTPS: on plain HTTP
/// browsers ignore it, and sending it would promise HTTPS the homelab does not serve.
pub fn secure_headers(tls: bool) -> Vec<(&'static str, &'static str)> {
    let mut h = vec![
        ("Referrer-Policy", "strict-origin-when-cross-origin"),
        ("X-Content-Type-Options", "nosniff"),
        ("X-Frame-Options", "SAMEORIGIN"),
    ];
    if tls {
        h.insert(0, ("Strict-Transport-Security", "max-age=31536000; includeSubDomains"));
    }
    h
}

/// Whether a header value can be written into every proxy's configuration as it is: no quotes,
/// backslashes, `$` or braces (which NGINX and Caddy would read as variables or placeholders) and
/// no control characters.
pub fn header_value_ok(value: &str) -> bool {
    !value.chars().any(|c| c.is_control() || matches!(c, '"' | '\\' | '$' | '{' | '}'))
}

/// Whether a header name is an HTTP token (RFC 9110).
pub fn header_name_ok(name: &str) -> bool {
    !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || "!#%&'*+-.^_`|~".contains(c))
}

/// The middleware of one exposure: its own `allow`, `headers`, `rate_limit` and `backend`, the
/// `ingress` defaults where it gives none. Entries the checker refuses (unknown allow names, bad
/// headers, zero rates) are left out here.
pub fn middleware(spec: &Spec, model: &Model, ex: &hearth_spec::ast::Expose) -> crate::model::Middleware {
    use crate::model::{Backend, Middleware, RateLimit};
    use hearth_spec::ast::HeaderPreset;
    let ingress = spec.ingress.as_ref();
    let allow = (!ex.allow.is_empty()).then(|| {
        let mut ranges: Vec<String> = ex.allow.iter().filter_map(|a| allow_ranges(model, &a.value)).flatten().collect();
        ranges.sort();
        ranges.dedup();
        ranges
    });
    // Read from the spec: exposures resolve before `derive` fills `model.ingress`.
    let tls = ingress
        .and_then(|i| i.tls.as_ref())
        .is_some_and(|t| t.none != Some(true) && (t.acme.is_some() || t.internal == Some(true)));
    let mut headers = std::collections::BTreeMap::new();
    if let Some(h) = ex.headers.as_ref().or_else(|| ingress.and_then(|i| i.headers.as_ref())) {
        if h.preset.as_ref().is_some_and(|p| p.value == HeaderPreset::Secure) {
            for (k, v) in secure_headers(tls) {
                headers.insert(k.to_string(), v.to_string());
            }
        }
        for e in &h.set.entries {
            if header_name_ok(&e.name) && header_value_ok(&e.value.value) {
                headers.insert(e.name.clone(), e.value.value.clone());
            }
        }
    }
    // The default limit skips exposures through the tunnel: their requests all arrive from the
    // tunnel's connector, so a per-client limit would count every visitor as one client.
    let tunnel = ex.access.as_ref().is_some_and(|a| a.value == hearth_spec::ast::Access::Tunnel);
    let default_rate = ingress.and_then(|i| i.rate_limit.as_ref()).filter(|_| !tunnel);
    let rate_limit = ex.rate_limit.as_ref().or(default_rate).and_then(|r| {
        let per = r.per.as_ref().map_or(hearth_spec::units::Duration::seconds(1), |p| p.value);
        let burst = r.burst.as_ref().map_or(r.rate.value, |b| b.value);
        (r.rate.value > 0 && per.millis >= 1000).then_some(RateLimit { rate: r.rate.value, per, burst })
    });
    let backend = ex.backend.as_ref().map(|b| Backend {
        https: b.https != Some(false),
        verify: b.verify.as_ref().is_none_or(|v| v.value),
        ca: b.ca.as_ref().map(|c| c.value.clone()),
        server_name: b.server_name.as_ref().map(|n| n.value.clone()),
    });
    Middleware { allow, headers, rate_limit, backend }
}
