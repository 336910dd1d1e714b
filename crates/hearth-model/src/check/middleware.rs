//! Route middleware: allow-lists that name what exists, basic-auth users with a password, rate
//! limits that admit something, headers every proxy can write, HTTPS backends that say how the
//! certificate is checked, and middleware the chosen proxy cannot do.

use hearth_spec::ast::{Access, Expose, RateLimit};
use hearth_spec::reference::SecretRef;
use hearth_spec::{Code, Diagnostic, Span, Spec, suggest};

use crate::derive::ingress::{allow_ranges, header_name_ok, header_value_ok};
use crate::model::Model;

pub(super) fn middleware(spec: &Spec, model: &Model, out: &mut Vec<Diagnostic>) {
    let ingress = spec.ingress.as_ref();
    if let Some(i) = ingress {
        if let Some(r) = &i.rate_limit {
            rate_limit(r, out);
        }
        if let Some(h) = &i.headers {
            headers(h, out);
        }
        basic_auth(spec, out);
    }
    let proxy_app = model.ingress.proxy_app.as_deref();
    let caddy_default_rate = proxy_app == Some("caddy") && ingress.and_then(|i| i.rate_limit.as_ref()).is_some();
    if caddy_default_rate && let Some(r) = ingress.and_then(|i| i.rate_limit.as_ref()) {
        out.push(caddy_rate_limit(r.rate.span));
    }
    for e in &spec.services.entries {
        let Some(x) = &e.value.expose else { continue };
        for ex in &x.0 {
            allow(model, ex, out);
            if let Some(r) = &ex.rate_limit {
                rate_limit(r, out);
                if proxy_app == Some("caddy") && !caddy_default_rate {
                    out.push(caddy_rate_limit(r.rate.span));
                }
            }
            if let Some(h) = &ex.headers {
                headers(h, out);
            }
            backend(ex, out);
            tunnel(ex, out);
        }
    }
}

/// Every `allow:` entry is a network, a zone, a CIDR or an address.
fn allow(model: &Model, ex: &Expose, out: &mut Vec<Diagnostic>) {
    for a in &ex.allow {
        if allow_ranges(model, &a.value).is_some() {
            continue;
        }
        let mut names: Vec<&str> = model.networks.keys().map(String::as_str).collect();
        names.extend(model.networks.values().map(|n| n.zone.as_str()));
        names.sort_unstable();
        names.dedup();
        let mut d = Diagnostic::new(
            Code::AllowUnknownSource,
            a.span,
            format!("`allow` entry `{}` is no network, zone, CIDR or address", a.value),
        )
        .label("the proxy cannot tell which sources this admits");
        match suggest::did_you_mean(&a.value, names.iter().copied()) {
            Some(best) => {
                d = d.help(format!("did you mean network or zone `{best}`?")).suggest_part(a.span, &a.value, best);
            }
            None => {
                d = d.help(format!(
                    "name a network or zone ({}), or write a CIDR such as `192.168.1.0/24`",
                    names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
                ));
            }
        }
        out.push(d);
    }
}

/// A rate of zero refuses everything; a period under a second no proxy can count.
fn rate_limit(r: &RateLimit, out: &mut Vec<Diagnostic>) {
    if r.rate.value == 0 {
        out.push(
            Diagnostic::new(Code::RateLimitZero, r.rate.span, "`rate: 0` would refuse every request")
                .help("give the requests one client may make per `per` (e.g. `rate: 100`), or remove `rate_limit`"),
        );
    }
    if let Some(per) = &r.per
        && per.value.millis < 1000
    {
        out.push(
            Diagnostic::new(
                Code::RateLimitZero,
                per.span,
                format!("`per: {}` is shorter than a second, which the proxies cannot count", per.value),
            )
            .help("write the period in seconds or longer, e.g. `per: 1s` or `per: 1m`")
            .suggest(per.span, "1s"),
        );
    }
}

/// Header names are tokens and values are free of what the proxies' formats would read as
/// syntax (quotes, `$`, braces) or line breaks.
fn headers(h: &hearth_spec::ast::Headers, out: &mut Vec<Diagnostic>) {
    for e in &h.set.entries {
        if !header_name_ok(&e.name) {
            out.push(
                Diagnostic::new(Code::InvalidHeader, e.key_span, format!("`{}` is not an HTTP header name", e.name))
                    .help("a header name is letters, digits and `-` (e.g. `X-Robots-Tag`)"),
            );
        }
        if !header_value_ok(&e.value.value) {
            out.push(
                Diagnostic::new(
                    Code::InvalidHeader,
                    e.value.span,
                    format!("the value of header `{}` holds a quote, backslash, `$`, brace or line break", e.name),
                )
                .label("the proxies' configuration formats would read it as syntax")
                .help("write the value without those characters"),
            );
        }
    }
}

/// Each basic-auth user's password is a secret Hearth knows: declared under `secrets:`.
fn basic_auth(spec: &Spec, out: &mut Vec<Diagnostic>) {
    let Some(i) = &spec.ingress else { return };
    for e in &i.basic_auth.entries {
        if let SecretRef::Named(n) = &e.value.value
            && !spec.secrets.is_declared(n)
        {
            out.push(
                Diagnostic::new(
                    Code::BasicAuthWithoutSecret,
                    e.value.span,
                    format!("basic-auth user `{}` has no password: secret `{n}` is not declared", e.name),
                )
                .label("not declared and not generated")
                .help(format!(
                    "declare it under `secrets:`: `{n}: {{}}` to have Hearth generate the password (`hearth secrets list` shows it), or `{n}: {{ env: VAR }}`"
                )),
            );
        }
    }
}

/// `verify: false` and a pinned `ca` contradict each other.
fn backend(ex: &Expose, out: &mut Vec<Diagnostic>) {
    let Some(b) = &ex.backend else { return };
    if let Some(ca) = &b.ca {
        let pem = ca.value.trim();
        if !(pem.starts_with("-----BEGIN CERTIFICATE-----") && pem.ends_with("-----END CERTIFICATE-----")) {
            out.push(
                Diagnostic::new(Code::BackendCaNotPem, ca.span, "`ca` is not a PEM certificate")
                    .help("paste the CA certificate as a block scalar (`ca: |`), from `-----BEGIN CERTIFICATE-----` to `-----END CERTIFICATE-----`"),
            );
        }
        if let Some(v) = &b.verify
            && !v.value
            && let (Some(k), Some(val)) = (b.spans.key("verify"), b.spans.value("verify"))
        {
            out.push(
                Diagnostic::new(Code::BackendVerifyConflict, v.span, "`verify: false` with a pinned `ca`")
                    .label("the certificate would not be checked against the CA")
                    .help("remove `verify: false`: with `ca` the service's certificate is checked against it")
                    .suggest_removal(k.to(val)),
            );
        }
    }
    if b.https == Some(false) && (b.ca.is_some() || b.verify.is_some() || b.server_name.is_some()) {
        let span = b.spans.value("https").unwrap_or(b.span);
        out.push(
            Diagnostic::new(Code::BackendVerifyConflict, span, "`https: false` with certificate settings")
                .help("remove `https: false` to reach the service over HTTPS, or the certificate settings"),
        );
    }
}

/// Behind a tunnel every request arrives from the tunnel's connector, so an allow-list or a
/// per-client rate limit sees one client: the connector.
fn tunnel(ex: &Expose, out: &mut Vec<Diagnostic>) {
    if ex.access.as_ref().map(|a| a.value) != Some(Access::Tunnel) {
        return;
    }
    let span = |field: &str| ex.spans.key(field).unwrap_or(ex.name.span);
    if !ex.allow.is_empty() {
        out.push(
            Diagnostic::new(Code::MiddlewareBehindTunnel, span("allow"), "`allow` on an exposure through the tunnel")
                .label("every request arrives from the tunnel connector's address")
                .help("the tunnel admits by its own policy (Cloudflare Access); remove `allow`, or use `access: internal`"),
        );
    }
    if ex.rate_limit.is_some() {
        out.push(
            Diagnostic::new(
                Code::MiddlewareBehindTunnel,
                span("rate_limit"),
                format!("`{}` goes through the tunnel, so its rate limit counts all clients as one", ex.name.value),
            )
            .label("every request arrives from the tunnel connector's address")
            .help("rate-limit at the tunnel's edge (Cloudflare's rate limiting rules), or remove `rate_limit`"),
        );
    }
}

fn caddy_rate_limit(span: Span) -> Diagnostic {
    Diagnostic::new(Code::MiddlewareUnsupported, span, "the proxy is Caddy, whose standard build has no rate limiting")
        .label("the rendered Caddyfile notes the limit but does not enforce it")
        .help("use Traefik or NGINX as `ingress.proxy`, or a Caddy built with `github.com/mholt/caddy-ratelimit`")
}
