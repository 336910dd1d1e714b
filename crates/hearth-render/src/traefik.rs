//! Traefik v3: the static configuration (`traefik.yml`: entry points, ping, metrics, API, the file
//! provider, the ACME resolver) and one dynamic file (`dynamic/hearth.yml`: a router, a service and
//! the middlewares of every exposed name), plus the 0600 files holding the DNS-provider token and
//! the basic-auth users.
//!
//! Choices:
//! - Only the file provider: routes come from the model, not from container labels, so the same
//!   files work for a native Traefik and a container one, and an operator can read every route in
//!   one place. The directory is watched, so a new render is picked up without a restart.
//! - The `traefik` entry point (the catalog's `dashboard` port, not published) carries the API,
//!   `/ping` (what `traefik healthcheck --ping` asks) and `/metrics` (what Prometheus scrapes);
//!   a catalog metrics port other than the dashboard gets its own `metrics` entry point.
//! - The DNS-challenge token reaches Traefik (lego) as an environment variable from an env-secret
//!   file beside the static configuration: Traefik has no other way to take it without it
//!   appearing in a non-secret file.
//! - Exposures with `access: internal` (or `vpn`) get an `ipAllowList` of the homelab's networks:
//!   the proxy's ports 80/443 may be forwarded from the internet, and the name alone protects
//!   nothing.
//! - A path-prefixed exposure (`n8n` `/webhook`) is its own router, `Host && PathPrefix`, which
//!   Traefik ranks above the bare name because its rule is longer.
//! - The shared route logic (one site per name with a location per path, the strictest access and
//!   auth when a name and path are exposed twice, the allowed source ranges, the SSO endpoint,
//!   volume paths) lives in [`shared`], used by the Caddy, NGINX and NixOS renderers too.

use std::fmt::Write as _;

use hearth_model::model::Tls;
use hearth_spec::ast::Auth;

use crate::{Context, Kind, Output};

use shared::{Proxy, Site, SsoKind, q};

/// The catalog's name for the ACME resolver in routers; any name works, this one says what it is.
const RESOLVER: &str = "letsencrypt";

pub fn render(cx: &Context, out: &mut Output) {
    let Some(proxy) = Proxy::find(cx, "traefik") else {
        return;
    };
    let sites = shared::sites(cx, &proxy);
    let tls = &cx.model.ingress.tls;

    let mut static_file = proxy.runner.config(proxy.file(
        proxy.host_path("/etc/traefik/traefik.yml"),
        Kind::TraefikStatic,
        static_config(cx, &proxy),
    ));
    if let Some(c) = &cx.model.ingress.crowdsec {
        static_file = static_file.from(format!("service/{c}"));
    }
    out.push(static_file);

    let dynamic = shared::from_sites(
        proxy.file(
            proxy.host_path("/etc/traefik/dynamic/hearth.yml"),
            Kind::TraefikDynamic,
            dynamic_config(cx, &proxy, &sites),
        ),
        &sites,
    );
    out.push(dynamic);

    if let Tls::Acme { challenge, provider: Some(provider), token: Some(token), .. } = tls
        && challenge == "dns"
    {
        let var = dns_token_var(provider);
        let template = hearth_model::model::Template::secret(token.clone());
        let content = format!(
            "# The {provider} API token for Traefik's ACME DNS challenge (lego reads `{var}`).\n\
             # Load it as the environment of the Traefik process (`env_file:` / `EnvironmentFile=`).\n\
             {var}={}\n",
            crate::fill(&template, cx.secrets)
        );
        out.push(proxy.runner.env(proxy.file(proxy.host_path("/etc/traefik/secrets.env"), Kind::EnvSecret, content)));
    }

    if sites.iter().any(|s| s.any(|l| l.auth == Auth::Basic)) {
        // Read through the watched file provider: owned by Traefik, no restart.
        let users = proxy.file(proxy.host_path(HTPASSWD), Kind::EnvSecret, shared::htpasswd(cx));
        out.push(proxy.runner.owns(users));
    }
}

/// Where the basic-auth users file is, as Traefik sees it.
const HTPASSWD: &str = "/etc/traefik/secrets/htpasswd";

/// The environment variable lego reads the provider's token from (the model puts the token on
/// the proxy service's environment under this name too).
fn dns_token_var(provider: &str) -> String {
    hearth_model::derive::ingress::dns_token_var("lego", provider).unwrap_or_default()
}

fn static_config(cx: &Context, proxy: &Proxy) -> String {
    let tls = &cx.model.ingress.tls;
    let web = proxy.port("web", 80);
    let websecure = proxy.port("websecure", 443);
    let dashboard = proxy.port("dashboard", 8080);
    let metrics = proxy.metrics_port(cx);

    let mut y = String::new();
    let _ =
        writeln!(y, "# Traefik static configuration for `{}` on `{}`, rendered by Hearth.", proxy.name, proxy.machine);
    y.push_str("# Routers, services and middlewares are in the file provider's directory below.\n");
    y.push_str("global:\n  checkNewVersion: false\n  sendAnonymousUsage: false\n");
    y.push_str("log:\n  level: INFO\n");
    if cx.model.ingress.crowdsec.is_some() {
        // CrowdSec's `crowdsecurity/traefik` collection parses the access log from the container
        // output (or the journal), so it only has to be switched on.
        y.push_str("accessLog: {}\n");
    }
    y.push_str("entryPoints:\n");
    let _ = writeln!(y, "  web:\n    address: {}", q(&format!(":{web}")));
    if *tls != Tls::None {
        y.push_str(
            "    http:\n      redirections:\n        entryPoint:\n          to: websecure\n          scheme: https\n",
        );
        let _ = writeln!(y, "  websecure:\n    address: {}", q(&format!(":{websecure}")));
    }
    let _ = writeln!(y, "  traefik:\n    address: {}", q(&format!(":{dashboard}")));
    let metrics_entry = match metrics {
        Some(port) if port != dashboard => {
            let _ = writeln!(y, "  metrics:\n    address: {}", q(&format!(":{port}")));
            Some("metrics")
        }
        Some(_) => Some("traefik"),
        None => None,
    };
    y.push_str("ping:\n  entryPoint: traefik\n");
    // The dashboard port is not published and the firewall opens it only to Prometheus.
    y.push_str("api:\n  dashboard: true\n  insecure: true\n");
    if let Some(entry) = metrics_entry {
        let _ = writeln!(y, "metrics:\n  prometheus:\n    entryPoint: {entry}");
    }
    y.push_str("providers:\n  file:\n    directory: /etc/traefik/dynamic\n    watch: true\n");
    if let Tls::Acme { email, challenge, provider, server, .. } = tls {
        let _ = writeln!(y, "certificatesResolvers:\n  {RESOLVER}:\n    acme:\n      email: {}", q(email));
        let _ = writeln!(y, "      storage: {}", q(&proxy.acme_storage()));
        if let Some(server) = server {
            let _ = writeln!(y, "      caServer: {}", q(server));
        }
        match (challenge.as_str(), provider) {
            ("dns", Some(provider)) => {
                let _ = writeln!(y, "      dnsChallenge:\n        provider: {}", q(provider));
            }
            ("tls-alpn", _) => y.push_str("      tlsChallenge: {}\n"),
            _ => y.push_str("      httpChallenge:\n        entryPoint: web\n"),
        }
    }
    y
}

fn dynamic_config(cx: &Context, proxy: &Proxy, sites: &[Site]) -> String {
    let tls = &cx.model.ingress.tls;
    let entry = if *tls == Tls::None { "web" } else { "websecure" };
    let sso = SsoKind::of(cx);

    let mut routers = String::new();
    let mut services = String::new();
    for s in sites {
        for note in &s.notes {
            let _ = writeln!(routers, "    # {note}");
        }
        for l in &s.locations {
            let name = &l.key;
            let mut middlewares: Vec<String> = Vec::new();
            if let Some(allow) = &l.allow {
                middlewares.push(allow.name.to_string());
            }
            match l.auth {
                Auth::None => {}
                Auth::Basic => middlewares.push("basic-auth".into()),
                Auth::Sso => middlewares.push(match sso {
                    SsoKind::Authentik { .. } | SsoKind::Authelia { .. } => "sso".into(),
                    SsoKind::Missing => "deny".into(),
                }),
            }
            // Traefik ranks routers by rule length, so a path prefix wins over the bare name.
            let rule = match &l.path {
                Some(p) => format!("Host(`{}`) && PathPrefix(`{p}`)", s.fqdn),
                None => format!("Host(`{}`)", s.fqdn),
            };
            let _ = writeln!(routers, "    {name}:");
            let _ = writeln!(routers, "      rule: {}", q(&rule));
            let _ = writeln!(routers, "      entryPoints: [{entry}]");
            let _ = writeln!(routers, "      service: {name}");
            if !middlewares.is_empty() {
                let _ = writeln!(routers, "      middlewares: [{}]", middlewares.join(", "));
            }
            router_tls(&mut routers, tls);

            let _ = writeln!(services, "    {name}:\n      loadBalancer:\n        servers:");
            for u in &l.upstreams {
                let _ = writeln!(services, "          - url: {}", q(u));
            }
            if let Some(h) = &l.health {
                let _ = writeln!(
                    services,
                    "        healthCheck:\n          path: {}\n          interval: {}\n          timeout: {}",
                    q(&h.path),
                    q(&h.interval),
                    q(&h.timeout)
                );
            }
        }
        if s.any(|l| l.auth == Auth::Sso)
            && let SsoKind::Authentik { .. } = sso
        {
            // authentik's single-application mode sends the browser back to
            // `https://<name>/outpost.goauthentik.io/callback`: that path goes to the outpost.
            let name = format!("{}-outpost", s.locations.first().map_or_else(String::new, |l| l.key.clone()));
            let _ = writeln!(routers, "    {name}:");
            let _ = writeln!(
                routers,
                "      rule: {}",
                q(&format!("Host(`{}`) && PathPrefix(`/outpost.goauthentik.io/`)", s.fqdn))
            );
            let _ = writeln!(routers, "      entryPoints: [{entry}]");
            let _ = writeln!(routers, "      service: authentik-outpost");
            router_tls(&mut routers, tls);
        }
    }
    let uses_sso = sites.iter().any(|s| s.any(|l| l.auth == Auth::Sso));
    if uses_sso && let SsoKind::Authentik { base } = &sso {
        let _ = writeln!(
            services,
            "    authentik-outpost:\n      loadBalancer:\n        servers:\n          - url: {}",
            q(base)
        );
    }

    let mut middlewares = String::new();
    let mut allows: Vec<&shared::Allow> =
        sites.iter().flat_map(|s| &s.locations).filter_map(|l| l.allow.as_ref()).collect();
    allows.sort_by_key(|a| a.name);
    allows.dedup_by_key(|a| a.name);
    for a in allows {
        let _ = writeln!(middlewares, "    {}:\n      ipAllowList:\n        sourceRange:", a.name);
        for r in &a.ranges {
            let _ = writeln!(middlewares, "          - {}", q(r));
        }
    }
    if sites.iter().any(|s| s.any(|l| l.auth == Auth::Basic)) {
        let _ = writeln!(middlewares, "    basic-auth:\n      basicAuth:\n        usersFile: {}", q(HTPASSWD));
    }
    if uses_sso {
        match &sso {
            SsoKind::Authentik { base } => {
                let _ = writeln!(
                    middlewares,
                    "    sso:\n      forwardAuth:\n        address: {}\n        trustForwardHeader: true\n        authResponseHeaders:",
                    q(&format!("{base}/outpost.goauthentik.io/auth/traefik"))
                );
                for h in shared::AUTHENTIK_HEADERS {
                    let _ = writeln!(middlewares, "          - {h}");
                }
            }
            SsoKind::Authelia { base } => {
                let _ = writeln!(
                    middlewares,
                    "    sso:\n      forwardAuth:\n        address: {}\n        trustForwardHeader: true\n        authResponseHeaders:",
                    q(&format!("{base}/api/authz/forward-auth"))
                );
                for h in shared::AUTHELIA_HEADERS {
                    let _ = writeln!(middlewares, "          - {h}");
                }
            }
            SsoKind::Missing => {
                // `auth: sso` without a usable SSO service: fail closed rather than serve openly.
                middlewares
                    .push_str("    deny:\n      ipAllowList:\n        sourceRange:\n          - \"127.0.0.1/32\"\n");
            }
        }
    }

    let mut y = String::new();
    let _ = writeln!(
        y,
        "# Traefik dynamic configuration for `{}`, rendered by Hearth: one router per exposed name.",
        proxy.name
    );
    if sites.is_empty() {
        y.push_str("http: {}\n");
        return y;
    }
    y.push_str("http:\n  routers:\n");
    y.push_str(&routers);
    y.push_str("  services:\n");
    y.push_str(&services);
    if !middlewares.is_empty() {
        y.push_str("  middlewares:\n");
        y.push_str(&middlewares);
    }
    if *tls == Tls::Internal {
        // The internal CA's certificates, one per name, placed beside the configuration.
        y.push_str("tls:\n  certificates:\n");
        for s in sites {
            let _ = writeln!(
                y,
                "    - certFile: {}\n      keyFile: {}",
                q(&format!("/etc/traefik/tls/{}.crt", s.fqdn)),
                q(&format!("/etc/traefik/tls/{}.key", s.fqdn))
            );
        }
    }
    y
}

fn router_tls(y: &mut String, tls: &Tls) {
    match tls {
        Tls::None => {}
        Tls::Internal => y.push_str("      tls: {}\n"),
        Tls::Acme { .. } => {
            let _ = writeln!(y, "      tls:\n        certResolver: {RESOLVER}");
        }
    }
}

/// What the three proxy renderers share: which service is the proxy, the sites to serve and the
/// values every proxy format needs for them.
pub(crate) mod shared {
    use std::collections::BTreeMap;

    use hearth_model::model::{Part, Probe, Service, Template};
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
            let port =
                service.ports.iter().find(|p| p.name == port_name).map_or(default, |p| p.host.unwrap_or(p.container));
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
        pub(crate) name: &'static str,
        pub(crate) ranges: Vec<String>,
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
        pub(crate) auth: Auth,
        /// `None`: reachable from anywhere.
        pub(crate) allow: Option<Allow>,
        pub(crate) health: Option<Health>,
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
    /// NetBird give their peers.
    fn allow_for(cx: &Context, proxy: &Proxy, access: Access) -> Option<Allow> {
        let mut ranges: Vec<String> = cx.model.networks.values().map(|n| n.cidr.clone()).collect();
        ranges.sort();
        ranges.dedup();
        ranges.push("127.0.0.0/8".into());
        if proxy.docker() {
            ranges.push("172.16.0.0/12".into());
        }
        match access {
            Access::Public | Access::Tunnel => None,
            Access::Internal => Some(Allow { name: "internal-only", ranges }),
            Access::Vpn => {
                ranges.push("100.64.0.0/10".into());
                Some(Allow { name: "vpn-only", ranges })
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
        for (fqdn, paths) in by_name {
            let mut sources: Vec<String> = Vec::new();
            let mut notes = Vec::new();
            let mut locations = Vec::new();
            for (path, routes) in paths {
                let mut upstreams: Vec<String> = Vec::new();
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
                let allow = allow_for(cx, proxy, access);
                if allow.is_some() {
                    sources.extend(cx.model.networks.keys().map(|n| format!("network/{n}")));
                }
                let health = routes.first().and_then(|r| health(cx, &r.service, &upstreams));
                let key = match path {
                    Some(p) => format!("{}-{}", slug(fqdn), slug(p)),
                    None => slug(fqdn),
                };
                locations.push(Location { key, path: path.map(str::to_string), upstreams, auth, allow, health });
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
        let on_port = routed.iter().all(|r| *r == port.host.unwrap_or(port.container) || *r == port.container);
        on_port.then(|| Health {
            path: path.clone(),
            interval: hc.interval.to_string(),
            timeout: hc.timeout.to_string(),
        })
    }

    /// The htpasswd line of the basic-auth user, for the 0600 users file.
    pub(crate) fn htpasswd(cx: &Context) -> String {
        let t = Template {
            parts: vec![
                Part::Secret(BASIC_USER.into()),
                Part::Text(":".into()),
                Part::Secret(BASIC_HASH.into()),
                Part::Text("\n".into()),
            ],
        };
        crate::fill(&t, cx.secrets)
    }

    pub(crate) use crate::yaml::quoted as q;
}
