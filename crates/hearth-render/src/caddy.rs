//! Caddy: one `Caddyfile` with the global options (ACME e-mail and CA, `local_certs` for the
//! internal CA, `auto_https off` for plain HTTP) and a site block per exposed name, plus a 0600
//! environment file for the secrets the Caddyfile reads (`{$VAR}` at load, `{env.VAR}` at run).
//!
//! Choices:
//! - Each site's handlers sit in a `route` block so they run in the order written (access check,
//!   authentication, then the proxy) instead of Caddy's built-in directive order.
//! - `basicauth`, not `basic_auth`: the image (2.8) accepts both, Debian's 2.6 (the validator and
//!   the native package) only the former.
//! - The admin API stays on localhost (Caddy's default): exposing `:2019` would let anyone on the
//!   network rewrite the proxy's configuration. When the spec has a Prometheus, a plain-HTTP site
//!   on the catalog's metrics port serves only the `metrics` handler, which the firewall opens to
//!   Prometheus alone; every other path answers 404.
//! - Route middleware: allow-lists, headers (`defer`red, so they win over the application's) and
//!   basic auth are snippets; the basic-auth users of `ingress.basic_auth` are a 0600 file of
//!   `NAME HASH` lines imported into `basicauth`. The standard build cannot rate-limit: the
//!   location says so in a comment (and `hearth check`, W810).
//! - The DNS challenge needs a Caddy build with the provider's module (`caddy-dns/<provider>`);
//!   the standard image has none, so the file says so where it asks for it.

use std::fmt::Write as _;

use hearth_model::model::{Template, Tls};
use hearth_spec::ast::Auth;

use crate::sites::{self, Location, Proxy, Site, SsoKind};
use crate::{Context, Kind, Output};

/// The environment variables of the secrets file (named by the model, which also puts them on
/// the proxy service's environment).
use hearth_model::derive::ingress::{
    CADDY_BASIC_HASH_VAR as BASIC_HASH_VAR, CADDY_BASIC_USER_VAR as BASIC_USER_VAR,
    CADDY_DNS_TOKEN_VAR as DNS_TOKEN_VAR,
};

pub fn render(cx: &Context, out: &mut Output) {
    let Some(proxy) = Proxy::find(cx, "caddy") else {
        return;
    };
    let sites = sites::sites(cx, &proxy);

    let file = sites::from_sites(
        proxy.runner.config(proxy.file(
            proxy.host_path("/etc/caddy/Caddyfile"),
            Kind::Caddyfile,
            caddyfile(cx, &proxy, &sites),
        )),
        &sites,
    );
    out.push(file);

    for l in sites.iter().flat_map(|s| &s.locations) {
        if let Some(pem) = l.ca() {
            let file = proxy.file(proxy.host_path(&ca_path(l)), Kind::Certificate, sites::pem(pem));
            out.push(proxy.runner.config(file));
        }
    }
    let basic = sites.iter().any(|s| s.any(|l| l.auth == Auth::Basic));
    if basic && !cx.model.ingress.basic_auth.is_empty() {
        // Read when the Caddyfile loads: owned by Caddy's user, restarted on change.
        out.push(proxy.runner.private(proxy.file(proxy.host_path(USERS), Kind::EnvSecret, sites::users(cx, ' '))));
    }

    let mut env = String::new();
    if let Tls::Acme { challenge, token: Some(token), .. } = &cx.model.ingress.tls
        && *challenge == hearth_spec::ast::Challenge::Dns
    {
        let _ = writeln!(env, "{DNS_TOKEN_VAR}={}", crate::fill(&Template::secret(token.clone()), cx.secrets));
    }
    if basic && cx.model.ingress.basic_auth.is_empty() {
        let _ = writeln!(env, "{BASIC_USER_VAR}={}", crate::fill(&Template::secret(sites::BASIC_USER), cx.secrets));
        let _ = writeln!(env, "{BASIC_HASH_VAR}={}", crate::fill(&Template::secret(sites::BASIC_HASH), cx.secrets));
    }
    if !env.is_empty() {
        let content = format!(
            "# Secrets the Caddyfile reads from the environment; load as the Caddy process's environment\n\
             # (`env_file:` / `EnvironmentFile=`). The basic-auth hash is bcrypt (`caddy hash-password`).\n{env}"
        );
        out.push(proxy.runner.env(proxy.file(proxy.host_path("/etc/caddy/secrets.env"), Kind::EnvSecret, content)));
    }
}

/// The handlers several sites share, as snippets (`import NAME`) so each site block stays short.
fn snippets(c: &mut String, sites: &[Site], sso: &SsoKind, users: bool) {
    let mut allows: Vec<&sites::Allow> =
        sites.iter().flat_map(|s| &s.locations).filter_map(|l| l.allow.as_ref()).collect();
    allows.sort_by(|a, b| a.name.cmp(&b.name));
    allows.dedup_by(|a, b| a.name == b.name);
    for a in allows {
        let _ = writeln!(
            c,
            "\n({}) {{\n\t@outside not remote_ip {}\n\trespond @outside \"Forbidden\" 403\n}}",
            a.name,
            a.ranges.join(" ")
        );
    }
    for h in sites::distinct(sites, |l| l.headers.as_ref()) {
        // `defer`: set once the upstream has answered, so these win over the application's own.
        let _ = writeln!(c, "\n({}) {{\n\theader {{\n\t\tdefer", h.name);
        for (k, v) in &h.value {
            let _ = writeln!(c, "\t\t{k} \"{v}\"");
        }
        c.push_str("\t}\n}\n");
    }
    if sites.iter().any(|s| s.any(|l| l.auth == Auth::Basic)) {
        if users {
            let _ = writeln!(c, "\n(basic-auth) {{\n\tbasicauth {{\n\t\timport {USERS}\n\t}}\n}}");
        } else {
            let _ = writeln!(
                c,
                "\n(basic-auth) {{\n\tbasicauth {{\n\t\t{{${BASIC_USER_VAR}}} {{${BASIC_HASH_VAR}}}\n\t}}\n}}"
            );
        }
    }
    if sites.iter().any(|s| s.any(|l| l.auth == Auth::Sso)) {
        c.push_str("\n(sso) {\n");
        match sso {
            SsoKind::Authentik { base } => {
                // The outpost's own paths (sign-in start, callback) on the protected name.
                let _ = writeln!(c, "\treverse_proxy /outpost.goauthentik.io/* {base}");
                let _ = writeln!(c, "\tforward_auth {base} {{");
                c.push_str("\t\turi /outpost.goauthentik.io/auth/caddy\n");
                let _ = writeln!(c, "\t\tcopy_headers {}", sites::AUTHENTIK_HEADERS.join(" "));
                c.push_str("\t}\n");
            }
            SsoKind::Authelia { base } => {
                let _ = writeln!(c, "\tforward_auth {base} {{");
                c.push_str("\t\turi /api/authz/forward-auth\n");
                let _ = writeln!(c, "\t\tcopy_headers {}", sites::AUTHELIA_HEADERS.join(" "));
                c.push_str("\t}\n");
            }
            SsoKind::Missing => {
                c.push_str("\t# `auth: sso` without a usable SSO service: refused.\n\trespond \"Forbidden\" 403\n")
            }
        }
        c.push_str("}\n");
    }
}

/// One location's handlers in a `route` block, so they run in the order written.
fn location(c: &mut String, l: &Location, indent: &str) {
    let _ = writeln!(c, "{indent}route {{");
    if let Some(allow) = &l.allow {
        let _ = writeln!(c, "{indent}\timport {}", allow.name);
    }
    if let Some(r) = &l.rate {
        // The standard build has no rate limiting (`hearth check` says so, W810).
        let _ = writeln!(
            c,
            "{indent}\t# Not enforced: a rate limit of {} per {} (burst {}) needs the caddy-ratelimit module.",
            r.value.rate, r.value.per, r.value.burst
        );
    }
    match l.auth {
        Auth::None => {}
        Auth::Basic => {
            let _ = writeln!(c, "{indent}\timport basic-auth");
        }
        Auth::Sso => {
            let _ = writeln!(c, "{indent}\timport sso");
        }
    }
    if let Some(h) = &l.headers {
        let _ = writeln!(c, "{indent}\timport {}", h.name);
    }
    let _ = write!(c, "{indent}\treverse_proxy {}", l.upstreams.join(" "));
    let mut options = Vec::new();
    if l.upstreams.len() > 1 {
        options.push("lb_policy round_robin".to_string());
    }
    if l.https() {
        // An upstream that speaks HTTPS itself is checked against the pinned CA, or, for a
        // catalog HTTPS port (Portainer's 9443: a self-signed certificate for no name) or
        // `verify: false`, encrypted but not verified.
        let mut t = vec!["transport http {".to_string()];
        if l.skip_verify() {
            t.push("\ttls_insecure_skip_verify".into());
        } else {
            t.push("\ttls".into());
        }
        if l.ca().is_some() {
            t.push(format!("\ttls_trusted_ca_certs {}", ca_path(l)));
        }
        if let Some(name) = l.server_name() {
            t.push(format!("\ttls_server_name {name}"));
        }
        t.push("}".into());
        options.extend(t);
    }
    if l.upstreams.len() > 1
        && let Some(h) = &l.health
    {
        options.push(format!("health_uri {}", h.path));
        options.push(format!("health_interval {}", h.interval));
        options.push(format!("health_timeout {}", h.timeout));
    }
    if options.is_empty() {
        c.push('\n');
    } else {
        c.push_str(" {\n");
        for o in options {
            let _ = writeln!(c, "{indent}\t\t{o}");
        }
        let _ = writeln!(c, "{indent}\t}}");
    }
    let _ = writeln!(c, "{indent}}}");
}

/// Where the CA a location's upstreams are checked against is, as Caddy sees it.
fn ca_path(l: &Location) -> String {
    format!("/etc/caddy/ca/{}.pem", l.key)
}

/// The basic-auth users of `ingress.basic_auth`, one `NAME HASH` line each, imported into the
/// `basicauth` block.
const USERS: &str = "/etc/caddy/basic-auth-users";

fn caddyfile(cx: &Context, proxy: &Proxy, sites: &[Site]) -> String {
    let tls = &cx.model.ingress.tls;
    let mut c = String::new();
    let _ = writeln!(
        c,
        "# Caddyfile for `{}` on `{}`, rendered by Hearth: one site block per exposed name.",
        proxy.name, proxy.machine
    );
    c.push_str("{\n");
    match tls {
        Tls::None => c.push_str("\tauto_https off\n"),
        Tls::Internal => c.push_str("\t# Certificates from Caddy's own local CA; clients must trust its root\n\t# (`caddy trust`, or the root.crt under the data directory).\n\tlocal_certs\n"),
        Tls::Acme { email, challenge, provider, server, .. } => {
            let _ = writeln!(c, "\temail {email}");
            if let Some(server) = server {
                let _ = writeln!(c, "\tacme_ca {server}");
            }
            if let ("dns", Some(provider)) = (challenge.as_str(), provider) {
                let _ = writeln!(c, "\t# Needs a Caddy build with the `caddy-dns/{provider}` module (`xcaddy build --with ...`).");
                let _ = writeln!(c, "\tacme_dns {provider} {{env.{DNS_TOKEN_VAR}}}");
            }
        }
    }
    c.push_str("}\n");

    let sso = SsoKind::of(cx);
    snippets(&mut c, sites, &sso, !cx.model.ingress.basic_auth.is_empty());
    if cx.model.monitoring.prometheus.is_some()
        && let Some(port) = proxy.metrics_port(cx)
    {
        let _ = writeln!(
            c,
            "\n# Prometheus metrics only; the admin API stays on localhost.\nhttp://:{port} {{\n\tmetrics /metrics\n}}"
        );
    }
    for s in sites {
        c.push('\n');
        for note in &s.notes {
            let _ = writeln!(c, "# {note}");
        }
        let address = if *tls == Tls::None { format!("http://{}", s.fqdn) } else { s.fqdn.clone() };
        let _ = writeln!(c, "{address} {{");
        if let [only] = s.locations.as_slice()
            && only.path.is_none()
        {
            location(&mut c, only, "\t");
        } else {
            // `handle` blocks are exclusive and Caddy tries the longest path first.
            for l in &s.locations {
                match &l.path {
                    Some(p) => {
                        // A prefix, as in Traefik's `PathPrefix` and NGINX's `location`.
                        let _ = writeln!(c, "\thandle {p}* {{");
                    }
                    None => c.push_str("\thandle {\n"),
                }
                location(&mut c, l, "\t\t");
                c.push_str("\t}\n");
            }
        }
        c.push_str("}\n");
    }
    c
}
