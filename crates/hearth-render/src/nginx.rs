//! NGINX: one `conf.d/hearth.conf` (included inside `http {}` by the stock `nginx.conf`) with an
//! upstream per exposed name (one server per replica), a port-80 server answering ACME HTTP-01
//! challenges from a webroot and redirecting everything else to HTTPS, and a TLS server per name
//! with the proxy headers, WebSocket upgrade and `auth_request` / `auth_basic` / allow lists.
//!
//! Choices:
//! - Certificates come from certbot (webroot, or its DNS plugin for the DNS challenge) under
//!   `/etc/letsencrypt/live/<name>/`, or from the internal CA under `/etc/hearth/tls/`; in a
//!   container, under the catalog's `certs` volume. Renewal is the operator's certbot timer.
//! - The upgrade map's variable is prefixed (`$hearth_connection_upgrade`) so it cannot clash
//!   with a `$connection_upgrade` map in another file of `conf.d`.
//! - Route middleware: a `limit_req_zone` per distinct rate limit, `add_header ... always` after
//!   `proxy_hide_header` of the same name, and `proxy_ssl_verify on` with the pinned CA (or
//!   Debian's CA bundle) for an HTTPS upstream the spec asks to check.
//! - `listen 443 ssl http2`: accepted (with a deprecation notice after 1.25) by every NGINX from
//!   Debian 12's 1.22 to the image's 1.27, where `http2 on` is not.

use std::fmt::Write as _;

use hearth_model::model::{Template, Tls};
use hearth_spec::ast::Auth;

use crate::sites::{self, Location, Proxy, Site, SsoKind};
use crate::{Context, Kind, Output};

/// The paths NGINX reads, which depend on whether it runs natively or in a container.
struct Paths {
    conf: String,
    webroot: String,
    /// `<dir>/<fqdn>/fullchain.pem` for ACME.
    live: String,
    /// `<dir>/<fqdn>.crt` for the internal CA.
    internal: String,
    htpasswd: String,
}

impl Paths {
    fn of(proxy: &Proxy) -> Paths {
        let conf = proxy.volume("config").unwrap_or("/etc/nginx/conf.d").trim_end_matches('/').to_string();
        if proxy.docker() {
            let certs = proxy.volume("certs").unwrap_or("/etc/nginx/certs").trim_end_matches('/').to_string();
            Paths {
                webroot: proxy.volume("html").unwrap_or("/usr/share/nginx/html").trim_end_matches('/').to_string(),
                live: format!("{certs}/live"),
                internal: certs,
                // Beside the configuration, but not `*.conf`, so `include conf.d/*.conf` skips it.
                htpasswd: format!("{conf}/hearth.htpasswd"),
                conf,
            }
        } else {
            Paths {
                conf,
                webroot: "/var/www/letsencrypt".into(),
                live: "/etc/letsencrypt/live".into(),
                internal: "/etc/hearth/tls".into(),
                htpasswd: "/etc/nginx/hearth.htpasswd".into(),
            }
        }
    }
}

pub fn render(cx: &Context, out: &mut Output) {
    let Some(proxy) = Proxy::find(cx, "nginx") else {
        return;
    };
    let sites = sites::sites(cx, &proxy);
    let paths = Paths::of(&proxy);

    let file = sites::from_sites(
        proxy.runner.config(proxy.file(
            proxy.host_path(&format!("{}/hearth.conf", paths.conf)),
            Kind::Nginx,
            config(cx, &proxy, &sites, &paths),
        )),
        &sites,
    );
    out.push(file);

    for l in sites.iter().flat_map(|s| &s.locations) {
        if let Some(pem) = l.ca() {
            let file = proxy.file(proxy.host_path(&ca_path(&paths, l)), Kind::Certificate, sites::pem(pem));
            out.push(proxy.runner.config(file));
        }
    }
    if sites.iter().any(|s| s.any(|l| l.auth == Auth::Basic)) {
        // The workers read it at each request: owned by their user, no reload.
        out.push(proxy.runner.owns(proxy.file(proxy.host_path(&paths.htpasswd), Kind::EnvSecret, sites::htpasswd(cx))));
    }
    if let Tls::Acme { challenge, provider: Some(provider), token: Some(token), .. } = &cx.model.ingress.tls
        && *challenge == hearth_spec::ast::Challenge::Dns
    {
        let content = format!(
            "# certbot-dns-{provider} credentials (`--dns-{provider}-credentials`).\ndns_{}_api_token = {}\n",
            provider.replace('-', "_"),
            crate::fill(&Template::secret(token.clone()), cx.secrets)
        );
        // certbot (root) reads it at each renewal: nothing to restart.
        out.push(proxy.file(format!("/etc/letsencrypt/hearth-{provider}.ini"), Kind::EnvSecret, content));
    }
}

fn config(cx: &Context, proxy: &Proxy, sites: &[Site], paths: &Paths) -> String {
    let tls = &cx.model.ingress.tls;
    let http = proxy.port("http", 80);
    let https = proxy.port("https", 443);
    let sso = SsoKind::of(cx);

    let mut c = String::new();
    let _ = writeln!(
        c,
        "# NGINX configuration for `{}` on `{}`, rendered by Hearth; included inside `http {{}}`.",
        proxy.name, proxy.machine
    );
    match tls {
        Tls::Acme { email, challenge, provider, server, .. } => {
            c.push_str(
                "#\n# Certificates: ACME with certbot, which this file does not run. Issue each name once with\n",
            );
            let names: Vec<&str> = sites.iter().map(|s| s.fqdn.as_str()).collect();
            let ca = server.as_ref().map(|s| format!(" --server {s}")).unwrap_or_default();
            match (challenge.as_str(), provider) {
                ("dns", Some(p)) => {
                    let _ = writeln!(
                        c,
                        "#   certbot certonly --dns-{p} --dns-{p}-credentials /etc/letsencrypt/hearth-{p}.ini \\\n#     --email {email} --agree-tos{ca} --cert-name <name> -d <name>"
                    );
                }
                _ => {
                    let _ = writeln!(
                        c,
                        "#   certbot certonly --webroot -w {} --email {email} --agree-tos{ca} --cert-name <name> -d <name>",
                        paths.webroot
                    );
                }
            }
            let _ =
                writeln!(c, "# for each of: {}", if names.is_empty() { "(none)".to_string() } else { names.join(" ") });
            c.push_str("# and let certbot's renewal timer reload NGINX (`--deploy-hook \"nginx -s reload\"`).\n");
        }
        Tls::Internal => {
            let _ = writeln!(c, "#\n# Certificates: the internal CA's, as {}/<name>.crt and .key.", paths.internal);
        }
        Tls::None => c.push_str("#\n# Plain HTTP: no TLS.\n"),
    }

    c.push_str("\nmap $http_upgrade $hearth_connection_upgrade {\n    default upgrade;\n    ''      close;\n}\n");

    for r in sites::distinct(sites, |l| l.rate.as_ref()) {
        let (rate, note) = nginx_rate(&r.value);
        if let Some(note) = note {
            let _ = writeln!(c, "# {note}");
        }
        let _ = writeln!(c, "limit_req_zone $binary_remote_addr zone={}:10m rate={rate};", zone(&r.name));
    }

    for l in sites.iter().flat_map(|s| &s.locations) {
        let (_, hosts) = l.hosts();
        let _ = writeln!(c, "\nupstream {} {{", upstream_name(l));
        for h in hosts {
            let _ = writeln!(c, "    server {h};");
        }
        c.push_str("}\n");
    }

    if *tls != Tls::None && !sites.is_empty() {
        let names: Vec<&str> = sites.iter().map(|s| s.fqdn.as_str()).collect();
        let _ = writeln!(
            c,
            "\nserver {{\n    listen {http};\n    listen [::]:{http};\n    server_name {};\n",
            names.join(" ")
        );
        let _ = writeln!(c, "    location /.well-known/acme-challenge/ {{\n        root {};\n    }}\n", paths.webroot);
        c.push_str("    location / {\n        return 301 https://$host$request_uri;\n    }\n}\n");
    }

    for s in sites {
        c.push('\n');
        for note in &s.notes {
            let _ = writeln!(c, "# {note}");
        }
        c.push_str("server {\n");
        match tls {
            Tls::None => {
                let _ = writeln!(c, "    listen {http};\n    listen [::]:{http};");
            }
            _ => {
                let _ = writeln!(c, "    listen {https} ssl http2;\n    listen [::]:{https} ssl http2;");
            }
        }
        let _ = writeln!(c, "    server_name {};", s.fqdn);
        match tls {
            Tls::None => {}
            Tls::Internal => {
                let _ = writeln!(
                    c,
                    "    ssl_certificate {dir}/{n}.crt;\n    ssl_certificate_key {dir}/{n}.key;",
                    dir = paths.internal,
                    n = s.fqdn
                );
            }
            Tls::Acme { .. } => {
                let _ = writeln!(
                    c,
                    "    ssl_certificate {dir}/{n}/fullchain.pem;\n    ssl_certificate_key {dir}/{n}/privkey.pem;",
                    dir = paths.live,
                    n = s.fqdn
                );
            }
        }
        if *tls != Tls::None {
            c.push_str("    ssl_protocols TLSv1.2 TLSv1.3;\n    ssl_session_cache shared:hearth_ssl:10m;\n");
        }
        // Large uploads (photos, files) are the applications' business, not the proxy's.
        c.push_str("    client_max_body_size 0;\n");
        if s.any(|l| l.auth == Auth::Sso) {
            match &sso {
                SsoKind::Authentik { base } => authentik_locations(&mut c, base),
                SsoKind::Authelia { base } => authelia_location(&mut c, base),
                SsoKind::Missing => {}
            }
        }
        for l in &s.locations {
            let _ = writeln!(c, "\n    location {} {{", l.path.as_deref().unwrap_or("/"));
            if let Some(allow) = &l.allow {
                for r in &allow.ranges {
                    let _ = writeln!(c, "        allow {r};");
                }
                c.push_str("        deny all;\n");
            }
            if let Some(r) = &l.rate {
                let _ = writeln!(c, "        limit_req zone={} burst={} nodelay;", zone(&r.name), r.value.burst);
                c.push_str("        limit_req_status 429;\n");
            }
            match l.auth {
                Auth::None => {}
                Auth::Basic => {
                    let _ = writeln!(
                        c,
                        "        auth_basic \"{}\";\n        auth_basic_user_file {};",
                        s.fqdn, paths.htpasswd
                    );
                }
                Auth::Sso => match &sso {
                    SsoKind::Authentik { .. } => c.push_str(&authentik_request()),
                    SsoKind::Authelia { .. } => c.push_str(&authelia_request()),
                    SsoKind::Missing => c.push_str(
                        "        # `auth: sso` without a usable SSO service: refused.\n        return 403;\n",
                    ),
                },
            }
            let (scheme, _) = l.hosts();
            let _ = writeln!(c, "        proxy_pass {scheme}://{};", upstream_name(l));
            if l.skip_verify() {
                // Reached by address with a self-signed certificate for no name (Portainer's
                // 9443), or `verify: false`: encrypted, not verified. Said here because it is
                // deliberate.
                c.push_str("        proxy_ssl_verify off;\n");
            } else if l.https() {
                // NGINX checks nothing by default and has no default roots: name them.
                let roots = if l.ca().is_some() { ca_path(paths, l) } else { SYSTEM_ROOTS.to_string() };
                let _ = writeln!(c, "        proxy_ssl_verify on;\n        proxy_ssl_trusted_certificate {roots};");
                if let Some(name) = l.server_name() {
                    let _ = writeln!(c, "        proxy_ssl_name {name};\n        proxy_ssl_server_name on;");
                }
            }
            if let Some(h) = &l.headers {
                // The application's own header of the same name is dropped, so ours is the one.
                for (k, v) in &h.value {
                    let _ = writeln!(c, "        proxy_hide_header {k};\n        add_header {k} \"{v}\" always;");
                }
            }
            c.push_str(PROXY_HEADERS);
            c.push_str("    }\n");
        }
        c.push_str("}\n");
    }
    c
}

/// Debian's CA bundle (also in the nginx image, which is Debian): the roots an HTTPS upstream is
/// checked against when the spec pins no CA.
const SYSTEM_ROOTS: &str = "/etc/ssl/certs/ca-certificates.crt";

/// Where the CA a location's upstreams are checked against is: beside the configuration, not
/// `*.conf`, so `include conf.d/*.conf` skips it.
fn ca_path(paths: &Paths, l: &Location) -> String {
    format!("{}/hearth-ca-{}.pem", paths.conf, l.key)
}

/// A rate as NGINX writes it, for the NixOS flake's nginx.
pub(crate) fn rate(r: &hearth_model::model::RateLimit) -> String {
    nginx_rate(r).0
}

/// A `limit_req_zone` name.
fn zone(name: &str) -> String {
    format!("hearth_{}", name.replace('-', "_"))
}

/// A rate as NGINX writes it (`N r/s` or `N r/m`, whole numbers), with a note when the spec's
/// rate had to be rounded to one.
fn nginx_rate(r: &hearth_model::model::RateLimit) -> (String, Option<String>) {
    let secs = r.per.as_secs().max(1);
    if secs == 1 {
        return (format!("{}r/s", r.rate), None);
    }
    let per_minute = u64::from(r.rate) * 60;
    if per_minute % secs == 0 {
        return (format!("{}r/m", per_minute / secs), None);
    }
    let rounded = (per_minute / secs).max(1);
    (format!("{rounded}r/m"), Some(format!("{} per {} rounded to {rounded} per minute.", r.rate, r.per)))
}

/// An upstream block's name: the FQDN with `_` for `.` and `-`.
fn upstream_name(l: &Location) -> String {
    format!("hearth_{}", l.key.replace('-', "_"))
}

const PROXY_HEADERS: &str = "        proxy_http_version 1.1;
        proxy_set_header Host $host;
        proxy_set_header X-Real-IP $remote_addr;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_set_header X-Forwarded-Proto $scheme;
        proxy_set_header X-Forwarded-Host $host;
        proxy_set_header Upgrade $http_upgrade;
        proxy_set_header Connection $hearth_connection_upgrade;
        proxy_read_timeout 1h;
        proxy_buffering off;
";

/// authentik's outpost endpoints on the protected name, as its NGINX guide lays them out.
fn authentik_locations(c: &mut String, base: &str) {
    let _ = writeln!(
        c,
        "
    # authentik forward auth: the outpost answers /outpost.goauthentik.io/auth/nginx.
    proxy_buffers 8 16k;
    proxy_buffer_size 32k;

    location /outpost.goauthentik.io {{
        proxy_pass {base}/outpost.goauthentik.io;
        proxy_set_header Host $host;
        proxy_set_header X-Original-URL $scheme://$http_host$request_uri;
        add_header Set-Cookie $auth_cookie;
        auth_request_set $auth_cookie $upstream_http_set_cookie;
        proxy_pass_request_body off;
        proxy_set_header Content-Length \"\";
    }}

    location @goauthentik_proxy_signin {{
        internal;
        add_header Set-Cookie $auth_cookie;
        return 302 /outpost.goauthentik.io/start?rd=$scheme://$http_host$request_uri;
    }}"
    );
}

fn authentik_request() -> String {
    let mut s = String::from(
        "        auth_request /outpost.goauthentik.io/auth/nginx;
        error_page 401 = @goauthentik_proxy_signin;
        auth_request_set $auth_cookie $upstream_http_set_cookie;
        add_header Set-Cookie $auth_cookie;
",
    );
    for h in sites::AUTHENTIK_HEADERS {
        let var = h.to_ascii_lowercase().replace('-', "_");
        let _ = writeln!(s, "        auth_request_set ${var} $upstream_http_{var};");
        let _ = writeln!(s, "        proxy_set_header {h} ${var};");
    }
    s
}

/// Authelia's `auth-request` endpoint (4.38+), which answers 401 with the portal in `Location`.
fn authelia_location(c: &mut String, base: &str) {
    let _ = writeln!(
        c,
        "
    # Authelia forward auth through its auth-request endpoint.
    location /internal/authelia/authz {{
        internal;
        proxy_pass {base}/api/authz/auth-request;
        proxy_set_header X-Original-Method $request_method;
        proxy_set_header X-Original-URL $scheme://$http_host$request_uri;
        proxy_set_header X-Forwarded-For $remote_addr;
        proxy_set_header Content-Length \"\";
        proxy_set_header Connection \"\";
        proxy_pass_request_body off;
    }}"
    );
}

fn authelia_request() -> String {
    let mut s = String::from(
        "        auth_request /internal/authelia/authz;
        auth_request_set $redirection_url $upstream_http_location;
        error_page 401 =302 $redirection_url;
",
    );
    for h in sites::AUTHELIA_HEADERS {
        let var = format!("authelia_{}", h.to_ascii_lowercase().replace('-', "_"));
        let _ =
            writeln!(s, "        auth_request_set ${var} $upstream_http_{};", h.to_ascii_lowercase().replace('-', "_"));
        let _ = writeln!(s, "        proxy_set_header {h} ${var};");
    }
    s
}

#[cfg(test)]
mod tests {
    use hearth_model::model::RateLimit;
    use hearth_spec::units::Duration;

    fn check(rate: u32, per: &str, expected: &str, rounded: bool) {
        let r = RateLimit { rate, per: Duration::parse(per).unwrap(), burst: rate };
        let (text, note) = super::nginx_rate(&r);
        assert_eq!((text.as_str(), note.is_some()), (expected, rounded), "{rate} per {per}");
    }

    #[test]
    fn rates_in_nginx_units() {
        check(100, "1s", "100r/s", false);
        check(30, "1m", "30r/m", false);
        check(10, "2s", "300r/m", false);
        check(600, "1h", "10r/m", false);
        check(50, "7s", "428r/m", true);
        check(1, "1d", "1r/m", true);
    }
}
