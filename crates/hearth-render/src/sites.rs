//! The proxy sites every reverse proxy renders (Traefik, Caddy, NGINX and the NixOS flake's
//! nginx): which service is the proxy, one site per exposed name with a location per path, the
//! strictest access and authentication when a name and path are exposed twice, the allowed
//! source ranges, the SSO endpoint and the values every proxy format needs for them.

use std::collections::BTreeMap;

use hearth_model::model::{Backend, Part, Probe, RateLimit, Service, Template};
use hearth_spec::ast::{Access, Auth};

use crate::reader::Runner;
use crate::{Context, File, Kind};

/// Headers authentik's outpost answers with, passed on to the application.
pub(crate) const AUTHENTIK_HEADERS: &[&str] = &[
    "X-authentik-username",
    "X-authentik-groups",
    "X-authentik-entitlements",
    "X-authentik-email",
    "X-authentik-name",
    "X-authentik-uid",
    "X-authentik-jwt",
    "X-authentik-meta-jwks",
    "X-authentik-meta-outpost",
    "X-authentik-meta-provider",
    "X-authentik-meta-app",
    "X-authentik-meta-version",
];

/// Headers Authelia answers with.
pub(crate) const AUTHELIA_HEADERS: &[&str] = &["Remote-User", "Remote-Groups", "Remote-Email", "Remote-Name"];

/// The secret references of the basic-auth user and its bcrypt hash (`htpasswd -nB`): secrets
/// the model lists for the operator to store (`hearth secrets set`).
pub(crate) const BASIC_USER: &str = "secret:proxy-basic-auth-user";
pub(crate) const BASIC_HASH: &str = "secret:proxy-basic-auth-hash";
const _: () = assert!(
    const_eq(BASIC_USER, "secret:", hearth_model::derive::ingress::BASIC_AUTH_USER)
        && const_eq(BASIC_HASH, "secret:", hearth_model::derive::ingress::BASIC_AUTH_HASH)
);

/// Whether `full` is `prefix` followed by `name`, at compile time.
const fn const_eq(full: &str, prefix: &str, name: &str) -> bool {
    let (f, p, n) = (full.as_bytes(), prefix.as_bytes(), name.as_bytes());
    if f.len() != p.len() + n.len() {
        return false;
    }
    let mut i = 0;
    while i < f.len() {
        let want = if i < p.len() { p[i] } else { n[i - p.len()] };
        if f[i] != want {
            return false;
        }
        i += 1;
    }
    true
}

/// The reverse proxy service, when the spec chose the given app.
pub(crate) struct Proxy<'a> {
    pub(crate) name: &'a str,
    pub(crate) service: &'a Service,
    pub(crate) machine: &'a str,
    pub(crate) app: &'a str,
    /// How the proxy runs: who reads its files and what a change needs.
    pub(crate) runner: Runner,
}

impl<'a> Proxy<'a> {
    pub(crate) fn find(cx: &'a Context, app: &'a str) -> Option<Proxy<'a>> {
        let ingress = &cx.model.ingress;
        if ingress.proxy_app.as_deref() != Some(app) {
            return None;
        }
        let name = ingress.proxy.as_deref()?;
        let service = cx.model.services.get(name)?;
        Some(Proxy { name, service, machine: service.on.name(), app, runner: Runner::of(cx, name, service) })
    }

    /// The port the proxy listens on inside its container (or natively), by catalog name.
    pub(crate) fn port(&self, name: &str, default: u16) -> u16 {
        self.service.ports.iter().find(|p| p.name == name).map_or(default, |p| p.container)
    }

    /// The catalog's metrics port, as a container port.
    pub(crate) fn metrics_port(&self, cx: &Context) -> Option<u16> {
        let app = cx.catalog.get(self.app)?;
        let metrics = app.metrics.as_ref()?;
        let default = app.ports.get(&metrics.port).map(|p| p.port)?;
        Some(self.port(&metrics.port, default))
    }

    /// Where a file the proxy reads at `inner` lies on the machine: under the source of the
    /// volume mounted there (the same path for a native service).
    pub(crate) fn host_path(&self, inner: &str) -> String {
        self.service
            .volumes
            .iter()
            .filter_map(|v| {
                let target = v.target.trim_end_matches('/');
                let rest = inner.strip_prefix(target)?;
                (rest.is_empty() || rest.starts_with('/')).then_some((
                    target.len(),
                    v.source.trim_end_matches('/'),
                    rest,
                ))
            })
            .max_by_key(|(len, _, _)| *len)
            .map_or_else(|| inner.to_string(), |(_, source, rest)| format!("{source}{rest}"))
    }

    /// A file of this proxy at `path` on its machine, derived from the ingress settings and
    /// the proxy service.
    pub(crate) fn file(&self, path: String, kind: Kind, content: String) -> File {
        File::new(self.machine, path, kind, content).from("ingress").from(format!("service/{}", self.name))
    }

    /// A volume's path inside the proxy, by catalog name.
    pub(crate) fn volume(&self, name: &str) -> Option<&str> {
        self.service.volumes.iter().find(|v| v.name == name).map(|v| v.target.as_str())
    }

    /// Traefik's ACME store, on the catalog's `certs` volume so it is backed up.
    pub(crate) fn acme_storage(&self) -> String {
        format!("{}/acme.json", self.volume("certs").unwrap_or("/var/lib/traefik").trim_end_matches('/'))
    }

    pub(crate) fn docker(&self) -> bool {
        self.service.form == hearth_spec::ast::Form::Docker
    }
}

/// The forward-auth provider for `auth: sso`.
pub(crate) enum SsoKind {
    /// `base` is `http://address:port` of the service.
    Authentik {
        base: String,
    },
    Authelia {
        base: String,
    },
    /// No SSO service, an unknown app, or one without an address: `auth: sso` names are
    /// refused rather than served without authentication.
    Missing,
}

impl SsoKind {
    pub(crate) fn of(cx: &Context) -> SsoKind {
        let ingress = &cx.model.ingress;
        let (Some(name), Some(app)) = (&ingress.sso, &ingress.sso_app) else {
            return SsoKind::Missing;
        };
        let Some(service) = cx.model.services.get(name) else {
            return SsoKind::Missing;
        };
        let Some(address) = service.address else {
            return SsoKind::Missing;
        };
        let primary = cx.catalog.get(app).and_then(|a| a.primary_port().map(|(n, p)| (n.to_string(), p.port)));
        let Some((port_name, default)) = primary else {
            return SsoKind::Missing;
        };
        let port = service.port(&port_name).map_or(default, |p| p.reachable);
        let host = match address {
            std::net::IpAddr::V4(a) => a.to_string(),
            std::net::IpAddr::V6(a) => format!("[{a}]"),
        };
        let base = format!("http://{host}:{port}");
        match app.as_str() {
            "authentik" => SsoKind::Authentik { base },
            "authelia" => SsoKind::Authelia { base },
            _ => SsoKind::Missing,
        }
    }
}

/// Source ranges allowed to reach a name, with the middleware name that carries them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Allow {
    pub(crate) name: String,
    pub(crate) ranges: Vec<String>,
}

/// A middleware several locations may share, under one name: the first of its kind is `base`,
/// each different one after it `base-2`, `base-3` ... in site order, so names are stable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Named<T> {
    pub(crate) name: String,
    pub(crate) value: T,
}

/// Names `value` among those `seen` so far.
fn named<T: PartialEq + Clone>(seen: &mut Vec<T>, base: &str, value: &T) -> Named<T> {
    let i = seen.iter().position(|v| v == value).unwrap_or_else(|| {
        seen.push(value.clone());
        seen.len() - 1
    });
    let name = if i == 0 { base.to_string() } else { format!("{base}-{}", i + 1) };
    Named { name, value: value.clone() }
}

/// The distinct middleware of `kind` among the locations, in order (for their definitions).
pub(crate) fn distinct<'a, T: 'a>(
    sites: &'a [Site],
    kind: impl Fn(&'a Location) -> Option<&'a Named<T>>,
) -> Vec<&'a Named<T>> {
    let mut out: Vec<&Named<T>> = Vec::new();
    for n in sites.iter().flat_map(|s| &s.locations).filter_map(kind) {
        if !out.iter().any(|o| o.name == n.name) {
            out.push(n);
        }
    }
    out
}

/// An upstream health check the proxy can run: the service's own HTTP probe, when it is on
/// the routed port.
#[derive(Debug, Clone)]
pub(crate) struct Health {
    pub(crate) path: String,
    pub(crate) interval: String,
    pub(crate) timeout: String,
}

/// One name the proxy serves.
/// `file` with every site's sources added: the routes it holds.
pub(crate) fn from_sites(file: File, sites: &[Site]) -> File {
    sites.iter().flat_map(|s| &s.sources).fold(file, |f, source| f.from(source.clone()))
}

pub(crate) struct Site {
    pub(crate) fqdn: String,
    /// By path: the longest prefix first, the whole name (`path: None`) last.
    pub(crate) locations: Vec<Location>,
    /// Model entities it derives from.
    pub(crate) sources: Vec<String>,
    /// Comments for the operator, e.g. when several exposures share a name and path.
    pub(crate) notes: Vec<String>,
}

/// The part of a name one service answers: all of it, or a path prefix.
pub(crate) struct Location {
    /// A router, upstream or snippet key: the FQDN and path with `-` for other characters.
    pub(crate) key: String,
    /// `None`: the whole name.
    pub(crate) path: Option<String>,
    pub(crate) upstreams: Vec<String>,
    /// The services exposed here, in name order (several when exposures share a name and path).
    pub(crate) services: Vec<String>,
    pub(crate) auth: Auth,
    /// `None`: reachable from anywhere.
    pub(crate) allow: Option<Allow>,
    pub(crate) health: Option<Health>,
    /// Response headers added, by name.
    pub(crate) headers: Option<Named<BTreeMap<String, String>>>,
    pub(crate) rate: Option<Named<RateLimit>>,
    /// How the upstreams' HTTPS certificates are checked, when the spec says.
    pub(crate) backend: Option<Backend>,
}

impl Location {
    /// Whether the upstreams speak HTTPS.
    pub(crate) fn https(&self) -> bool {
        self.upstreams.iter().any(|u| u.starts_with("https://"))
    }

    /// Whether the upstreams' certificates go unchecked: a catalog HTTPS port (Portainer's 9443,
    /// a self-signed certificate for no name), or `verify: false`.
    pub(crate) fn skip_verify(&self) -> bool {
        self.https() && self.backend.as_ref().is_none_or(|b| !b.verify)
    }

    /// The pinned CA's PEM text, when the upstreams are checked against one.
    pub(crate) fn ca(&self) -> Option<&str> {
        self.backend.as_ref().filter(|_| self.https()).filter(|b| b.verify).and_then(|b| b.ca.as_deref())
    }

    /// The name upstream certificates are checked against, when the spec gives one.
    pub(crate) fn server_name(&self) -> Option<&str> {
        self.backend.as_ref().filter(|b| b.verify).and_then(|b| b.server_name.as_deref())
    }
}

impl Site {
    pub(crate) fn any(&self, f: impl Fn(&Location) -> bool) -> bool {
        self.locations.iter().any(f)
    }
}

fn split_hosts(upstreams: &[String]) -> (String, Vec<String>) {
    let scheme = upstreams.first().and_then(|u| u.split_once("://")).map_or("http", |(s, _)| s).to_string();
    let hosts = upstreams.iter().map(|u| u.split_once("://").map_or(u.as_str(), |(_, h)| h).to_string()).collect();
    (scheme, hosts)
}

impl Location {
    /// The upstreams as `host:port`, and their scheme (the first one's).
    pub(crate) fn hosts(&self) -> (String, Vec<String>) {
        split_hosts(&self.upstreams)
    }
}

fn slug(s: &str) -> String {
    let raw: String = s.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '-' }).collect();
    raw.trim_matches('-').to_string()
}

fn auth_rank(a: Auth) -> u8 {
    match a {
        Auth::None => 0,
        Auth::Basic => 1,
        Auth::Sso => 2,
    }
}

fn auth_name(a: Auth) -> &'static str {
    match a {
        Auth::None => "none",
        Auth::Basic => "basic",
        Auth::Sso => "sso",
    }
}

fn access_name(a: Access) -> &'static str {
    match a {
        Access::Public => "public",
        Access::Internal => "internal",
        Access::Tunnel => "tunnel",
        Access::Vpn => "vpn",
    }
}

/// The source ranges of an access level; `None` for anywhere. `internal` is the homelab's
/// networks and loopback (plus Docker's bridge pool for a proxy in a container, where clients
/// on its own host arrive from the bridge); `vpn` adds 100.64.0.0/10, the range Tailscale and
/// NetBird give their peers. An isolated network (IoT, guests) is not one of them unless a
/// `policy` entry lets its zone reach the proxy: its machines reach no other network's services,
/// and the proxy is where the homelab's own routes would let them through.
fn allow_for(cx: &Context, proxy: &Proxy, access: Access) -> Option<Allow> {
    let m = cx.model;
    let proxy_zones = m.zones_of(proxy.machine);
    let admitted = |n: &hearth_model::model::Network| {
        !n.isolated || proxy_zones.iter().any(|z| m.policy_admits(&n.zone, z, Some(proxy.name), 443))
    };
    let mut ranges: Vec<String> = m.networks.values().filter(|n| admitted(n)).map(|n| n.cidr.clone()).collect();
    ranges.sort();
    ranges.dedup();
    ranges.push("127.0.0.0/8".into());
    if proxy.docker() {
        ranges.push("172.16.0.0/12".into());
    }
    match access {
        Access::Public | Access::Tunnel => None,
        Access::Internal => Some(Allow { name: "internal-only".into(), ranges }),
        Access::Vpn => {
            ranges.push("100.64.0.0/10".into());
            Some(Allow { name: "vpn-only".into(), ranges })
        }
    }
}

/// Restrictiveness of an access level, for merging exposures of one name and path.
fn access_rank(a: Access) -> u8 {
    match a {
        Access::Public | Access::Tunnel => 0,
        Access::Vpn => 1,
        Access::Internal => 2,
    }
}

/// The sites, one per FQDN in name order, each with a location per path. Two exposures of
/// the same name and path cannot be told apart by the proxy: they get the union of the
/// upstreams and the strictest access and auth among them, with a note saying so.
pub(crate) fn sites(cx: &Context, proxy: &Proxy) -> Vec<Site> {
    let mut by_name: BTreeMap<&str, BTreeMap<Option<&str>, Vec<&hearth_model::model::Route>>> = BTreeMap::new();
    for r in &cx.model.routes {
        let path = r.path.as_deref().filter(|p| !p.is_empty() && *p != "/");
        by_name.entry(r.fqdn.as_str()).or_default().entry(path).or_default().push(r);
    }
    let mut sites = Vec::new();
    let (mut allows, mut headers, mut rates) = (Vec::new(), Vec::new(), Vec::new());
    for (fqdn, paths) in by_name {
        let mut sources: Vec<String> = Vec::new();
        let mut notes = Vec::new();
        let mut locations = Vec::new();
        for (path, routes) in paths {
            let mut upstreams: Vec<String> = Vec::new();
            let mut services: Vec<String> = routes.iter().map(|r| r.service.clone()).collect();
            services.sort();
            services.dedup();
            for r in &routes {
                for u in &r.upstreams {
                    if !upstreams.contains(u) {
                        upstreams.push(u.clone());
                    }
                }
                sources.push(format!("service/{}", r.service));
            }
            let auth = routes.iter().map(|r| r.auth).max_by_key(|a| auth_rank(*a)).unwrap_or(Auth::None);
            let access = routes.iter().map(|r| r.access).max_by_key(|a| access_rank(*a)).unwrap_or(Access::Public);
            if routes.len() > 1 {
                let each: Vec<String> =
                    routes.iter().map(|r| format!("{}/{}", access_name(r.access), auth_name(r.auth))).collect();
                notes.push(format!(
                    "{fqdn}{} is exposed {} times ({}); the strictest ({}/{}) applies.",
                    path.unwrap_or(""),
                    routes.len(),
                    each.join(", "),
                    access_name(access),
                    auth_name(auth)
                ));
            }
            // The middleware of the first exposure: two of one name and path are one location.
            let mw = routes.first().map(|r| r.middleware.clone()).unwrap_or_default();
            let allow = match &mw.allow {
                Some(ranges) => {
                    let n = named(&mut allows, "allow", ranges);
                    Some(Allow { name: n.name, ranges: n.value })
                }
                None => allow_for(cx, proxy, access),
            };
            if allow.is_some() {
                sources.extend(cx.model.networks.keys().map(|n| format!("network/{n}")));
            }
            let headers = (!mw.headers.is_empty()).then(|| named(&mut headers, "headers", &mw.headers));
            let rate = mw.rate_limit.map(|r| named(&mut rates, "rate-limit", &r));
            let health = routes.first().and_then(|r| health(cx, &r.service, &upstreams));
            let key = match path {
                Some(p) => format!("{}-{}", slug(fqdn), slug(p)),
                None => slug(fqdn),
            };
            locations.push(Location {
                key,
                path: path.map(str::to_string),
                upstreams,
                services,
                auth,
                allow,
                health,
                headers,
                rate,
                backend: mw.backend,
            });
        }
        // Longest path first and the whole name last: the order the proxies try them in.
        locations.sort_by(|a, b| {
            let len = |l: &Location| l.path.as_ref().map_or(0, String::len);
            (a.path.is_none(), std::cmp::Reverse(len(a)), &a.path).cmp(&(
                b.path.is_none(),
                std::cmp::Reverse(len(b)),
                &b.path,
            ))
        });
        sources.sort();
        sources.dedup();
        sites.push(Site { fqdn: fqdn.to_string(), locations, sources, notes });
    }
    sites
}

/// The service's HTTP probe as an upstream check, when it probes the port the route goes to.
fn health(cx: &Context, service: &str, upstreams: &[String]) -> Option<Health> {
    let svc = cx.model.services.get(service)?;
    let hc = svc.healthcheck.as_ref()?;
    let Probe::Http { port: port_name, path } = &hc.probe else { return None };
    // Query strings and odd characters would need escaping in every format; skip those probes.
    if !path.chars().all(|c| c.is_ascii_alphanumeric() || "/-_.".contains(c)) {
        return None;
    }
    let port = svc.ports.iter().find(|p| &p.name == port_name)?;
    let routed: Vec<u16> = upstreams.iter().filter_map(|u| u.rsplit(':').next()?.parse().ok()).collect();
    let on_port = routed.iter().all(|r| *r == port.reachable() || *r == port.container);
    on_port.then(|| Health { path: path.clone(), interval: hc.interval.to_string(), timeout: hc.timeout.to_string() })
}

/// The htpasswd line of the basic-auth user, for the 0600 users file.
pub(crate) fn htpasswd(cx: &Context) -> String {
    users(cx, ':')
}

/// The basic-auth users, one `NAME<sep>HASH` line each: `ingress.basic_auth`'s users with their
/// passwords hashed (see [`bcrypt`]), else the one user and hash the operator stores.
pub(crate) fn users(cx: &Context, sep: char) -> String {
    let users = &cx.model.ingress.basic_auth;
    if users.is_empty() {
        let t = Template {
            parts: vec![
                Part::Secret(BASIC_USER.into()),
                Part::Text(sep.to_string()),
                Part::Secret(BASIC_HASH.into()),
                Part::Text("\n".into()),
            ],
        };
        return crate::fill(&t, cx.secrets);
    }
    users
        .iter()
        .map(|u| {
            let hash = match cx.secrets.and_then(|s| s.get(&u.password)) {
                Some(password) => crate::bcrypt::hash(&u.name, &password),
                None => crate::placeholder(&u.password),
            };
            format!("{}{sep}{hash}\n", u.name)
        })
        .collect()
}

/// A pinned CA's PEM text as a file: trimmed, one final newline.
pub(crate) fn pem(text: &str) -> String {
    format!("{}\n", text.trim())
}
