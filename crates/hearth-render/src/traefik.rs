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
//! - Route middleware is Traefik's own: `ipAllowList`, `rateLimit`, `headers`
//!   (`customResponseHeaders`), `basicAuth` with a users file, and a `serversTransport` per
//!   upstream checked against a pinned CA.
//! - A path-prefixed exposure (`n8n` `/webhook`) is its own router, `Host && PathPrefix`, which
//!   Traefik ranks above the bare name because its rule is longer.
//! - The shared route logic (one site per name with a location per path, the strictest access and
//!   auth when a name and path are exposed twice, the allowed source ranges, the SSO endpoint,
//!   volume paths) lives in [`crate::sites`], used by the Caddy, NGINX and NixOS renderers too.

use std::fmt::Write as _;

use hearth_model::model::Tls;
use hearth_spec::ast::Auth;

use crate::{Context, Kind, Output};

use crate::sites::{self, Location, Proxy, Site, SsoKind};
use crate::yaml::quoted as q;

use crate::traefik_routers::{self, RESOLVER};

/// The transport of upstreams that speak HTTPS themselves (Portainer's 9443): they are reached by
/// address, with a self-signed certificate for no name Traefik could verify, so the connection
/// stays encrypted but unverified. The homelab's firewall is what keeps the path trusted.
const UPSTREAM_TLS: &str = "hearth-upstream-tls";

pub fn render(cx: &Context, out: &mut Output) {
    let Some(proxy) = Proxy::find(cx, "traefik") else {
        return;
    };
    let sites = sites::sites(cx, &proxy);
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

    let dynamic = sites::from_sites(
        proxy.file(
            proxy.host_path("/etc/traefik/dynamic/hearth.yml"),
            Kind::TraefikDynamic,
            dynamic_config(cx, &proxy, &sites),
        ),
        &sites,
    );
    out.push(dynamic);

    if let Tls::Acme { challenge, provider: Some(provider), token: Some(token), .. } = tls
        && *challenge == hearth_spec::ast::Challenge::Dns
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

    for l in sites.iter().flat_map(|s| &s.locations) {
        if let Some(pem) = l.ca() {
            // Read when the dynamic configuration loads: a new CA needs a restart.
            let file = proxy.file(proxy.host_path(&ca_path(l)), Kind::Certificate, sites::pem(pem));
            out.push(proxy.runner.config(file));
        }
    }

    if sites.iter().any(|s| s.any(|l| l.auth == Auth::Basic)) {
        // Read through the watched file provider: owned by Traefik, no restart.
        let users = proxy.file(proxy.host_path(HTPASSWD), Kind::EnvSecret, sites::htpasswd(cx));
        out.push(proxy.runner.owns(users));
    }
}

/// Where the CA a location's upstreams are checked against is, as Traefik sees it: outside the
/// watched `dynamic/` folder, which holds only configuration.
fn ca_path(l: &Location) -> String {
    format!("/etc/traefik/ca/{}.pem", l.key)
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
    if let Some(endpoint) = docker_endpoint(cx) {
        // The discovered machine's socket proxy: read-only, and only containers labelled
        // `traefik.enable=true` become routers.
        let _ = writeln!(y, "  docker:\n    endpoint: {}\n    exposedByDefault: false", q(&endpoint));
    }
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

/// The Docker API Traefik's Docker provider reads: the socket proxy of `discover.docker` at its
/// published address and port.
fn docker_endpoint(cx: &Context) -> Option<String> {
    let d = cx.model.ingress.discover.as_ref()?;
    let sp = cx.model.services.get(&d.socket_proxy)?;
    let port = sp.ports.first().and_then(|p| p.host)?;
    let host = sp.address.map_or_else(|| d.machine.clone(), |a| a.to_string());
    Some(format!("tcp://{host}:{port}"))
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
            // A discovered service's container carries its router as labels (`traefik_routers`).
            if traefik_routers::discovered(cx, l).is_none() {
                let r = traefik_routers::router(cx, s, l, &sso);
                let _ = writeln!(routers, "    {name}:");
                let _ = writeln!(routers, "      rule: {}", q(&r.rule));
                let _ = writeln!(routers, "      entryPoints: [{}]", r.entry);
                let _ = writeln!(routers, "      service: {name}");
                if !r.middlewares.is_empty() {
                    let _ = writeln!(routers, "      middlewares: [{}]", r.middlewares.join(", "));
                }
                router_tls(&mut routers, tls);
            }

            let _ = writeln!(services, "    {name}:\n      loadBalancer:\n        servers:");
            for u in &l.upstreams {
                let _ = writeln!(services, "          - url: {}", q(u));
            }
            if l.skip_verify() {
                let _ = writeln!(services, "        serversTransport: {UPSTREAM_TLS}");
            } else if l.ca().is_some() || (l.https() && l.server_name().is_some()) {
                let _ = writeln!(services, "        serversTransport: {name}-tls");
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
    let mut allows: Vec<&sites::Allow> =
        sites.iter().flat_map(|s| &s.locations).filter_map(|l| l.allow.as_ref()).collect();
    allows.sort_by(|a, b| a.name.cmp(&b.name));
    allows.dedup_by(|a, b| a.name == b.name);
    for a in allows {
        let _ = writeln!(middlewares, "    {}:\n      ipAllowList:\n        sourceRange:", a.name);
        for r in &a.ranges {
            let _ = writeln!(middlewares, "          - {}", q(r));
        }
    }
    for r in sites::distinct(sites, |l| l.rate.as_ref()) {
        let _ = writeln!(
            middlewares,
            "    {}:\n      rateLimit:\n        average: {}\n        period: {}\n        burst: {}",
            r.name,
            r.value.rate,
            q(&r.value.per.to_string()),
            r.value.burst
        );
    }
    for h in sites::distinct(sites, |l| l.headers.as_ref()) {
        let _ = writeln!(middlewares, "    {}:\n      headers:\n        customResponseHeaders:", h.name);
        for (k, v) in &h.value {
            let _ = writeln!(middlewares, "          {}: {}", q(k), q(v));
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
                for h in sites::AUTHENTIK_HEADERS {
                    let _ = writeln!(middlewares, "          - {h}");
                }
            }
            SsoKind::Authelia { base } => {
                let _ = writeln!(
                    middlewares,
                    "    sso:\n      forwardAuth:\n        address: {}\n        trustForwardHeader: true\n        authResponseHeaders:",
                    q(&format!("{base}/api/authz/forward-auth"))
                );
                for h in sites::AUTHELIA_HEADERS {
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
    y.push_str("http:\n");
    if !routers.is_empty() {
        y.push_str("  routers:\n");
        y.push_str(&routers);
    }
    y.push_str("  services:\n");
    y.push_str(&services);
    if !middlewares.is_empty() {
        y.push_str("  middlewares:\n");
        y.push_str(&middlewares);
    }
    let mut transports = String::new();
    if sites.iter().any(|s| s.any(Location::skip_verify)) {
        let _ = writeln!(transports, "    {UPSTREAM_TLS}:\n      insecureSkipVerify: true");
    }
    for l in sites.iter().flat_map(|s| &s.locations).filter(|l| !l.skip_verify() && l.https()) {
        if l.ca().is_none() && l.server_name().is_none() {
            continue;
        }
        let _ = writeln!(transports, "    {}-tls:", l.key);
        if let Some(name) = l.server_name() {
            let _ = writeln!(transports, "      serverName: {}", q(name));
        }
        if l.ca().is_some() {
            let _ = writeln!(transports, "      rootCAs:\n        - {}", q(&ca_path(l)));
        }
    }
    if !transports.is_empty() {
        y.push_str("  serversTransports:\n");
        y.push_str(&transports);
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
