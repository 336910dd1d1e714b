//! Values that parse but mean nonsense: a timezone the tz database does not know, a domain written
//! as a URL, ACME certificates for names no public CA signs, `{{ … }}` placeholders in a spec's
//! `env` (only catalog entries expand them), a network's ranges outside its subnet, URLs without a
//! scheme and mail addresses without an `@`.
//!
//! Each is a string the decoder accepts, so each would otherwise reach every rendered file: the
//! timezone as every service's `TZ`, the domain inside every name (`vault.https://…`).

use hearth_spec::reference::Value;
use hearth_spec::{Code, Diagnostic, Span, Spec};

use crate::model::Model;
use crate::tzdb;

pub(super) fn values(spec: &Spec, model: &Model, out: &mut Vec<Diagnostic>) {
    timezones(spec, out);
    domains(spec, out);
    acme_domain(spec, out);
    tls_modes(spec, out);
    templates_in_env(spec, model, out);
    ranges(spec, out);
    urls(spec, out);
    emails(spec, out);
}

/// A network's `dhcp`, `allocate` and `reserved` ranges lie inside its subnet: a pool elsewhere
/// protects nothing, and an `allocate` range elsewhere hands out addresses of another network.
fn ranges(spec: &Spec, out: &mut Vec<Diagnostic>) {
    for e in &spec.networks.entries {
        let net = &e.value;
        let cidr = &net.cidr.value;
        let named = net.dhcp.iter().map(|r| ("DHCP pool", r));
        let named = named.chain(net.allocate.iter().map(|r| ("allocation range", r)));
        for (what, r) in named.chain(net.reserved.iter().map(|r| ("reserved range", r))) {
            if cidr.contains(r.value.first) && cidr.contains(r.value.last) {
                continue;
            }
            out.push(
                Diagnostic::new(
                    Code::AddressOutsideSubnet,
                    r.span,
                    format!("{what} {} of network `{}` is not inside its subnet {cidr}", r.value, e.name),
                )
                .label(format!("not in {cidr}"))
                .with(net.cidr.span, "the network's subnet")
                .help(format!("write a range of addresses inside {cidr}")),
            );
        }
    }
}

/// URLs the rendered files call: a notification channel's, the Proxmox API's, an ACME directory's.
/// Without a scheme they are relative paths to the tools that read them.
fn urls(spec: &Spec, out: &mut Vec<Diagnostic>) {
    let mut found: Vec<(&str, &str, Span)> = Vec::new();
    for (_, n) in spec.notifications.iter() {
        let urls = n
            .ntfy
            .iter()
            .map(|c| &c.url)
            .chain(n.gotify.iter().map(|c| &c.url))
            .chain(n.webhook.iter().map(|c| &c.url));
        found.extend(urls.map(|u| ("notification URL", u.value.as_str(), u.span)));
    }
    for (_, h) in spec.hosts.iter() {
        if let Some(p) = &h.proxmox
            && let (Some(api), Some(span)) = (&p.api, p.spans.value("api"))
        {
            found.push(("Proxmox API URL", api.as_str(), span));
        }
    }
    if let Some(acme) = spec.ingress.as_ref().and_then(|i| i.tls.as_ref()).and_then(|t| t.acme.as_ref())
        && let (Some(server), Some(span)) = (&acme.server, acme.spans.value("server"))
    {
        found.push(("ACME directory URL", server.as_str(), span));
    }
    for (what, url, span) in found {
        let url = url.trim();
        if url.starts_with("https://") || url.starts_with("http://") {
            continue;
        }
        // A secret reference is no host name: prefixing it would only hide the reference.
        if hearth_spec::reference::SecretRef::parse(url).is_some() {
            out.push(
                Diagnostic::new(
                    Code::UrlWithoutScheme,
                    span,
                    format!("{what} `{}` is a secret reference, but it is read as the URL itself", super::short(url)),
                )
                .label("not read from the secret store")
                .help(
                    "write the `https://` URL itself (a webhook whose URL holds its token, such as Discord's or Slack's, cannot be kept out of the spec yet)",
                ),
            );
            continue;
        }
        let d = Diagnostic::new(
            Code::UrlWithoutScheme,
            span,
            format!("{what} `{}` does not start with `https://` or `http://`", super::short(url)),
        )
        .label("the tool reading it would not know how to reach it");
        out.push(if url.contains("://") {
            d.help("write an `https://` or `http://` URL")
        } else {
            let fixed = format!("https://{url}");
            d.help(format!("write `{fixed}`")).suggest_part(span, url, fixed)
        });
    }
}

/// Whether `text` looks like a mail address: one `@` between a local part and a domain, which
/// must have a dot when `public` (a CA's account address; a local relay may take `root@nas`).
fn is_email(text: &str, public: bool) -> bool {
    match text.trim().split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !local.contains(char::is_whitespace)
                && (!public || domain.contains('.'))
                && is_domain(domain)
        }
        None => false,
    }
}

/// The ACME account's address (Let's Encrypt refuses the account without a valid one) and the
/// mail channel's recipient and sender.
fn emails(spec: &Spec, out: &mut Vec<Diagnostic>) {
    let mut found: Vec<(&str, &str, Span, bool)> = Vec::new();
    if let Some(acme) = spec.ingress.as_ref().and_then(|i| i.tls.as_ref()).and_then(|t| t.acme.as_ref()) {
        found.push(("ACME account address", acme.email.value.as_str(), acme.email.span, true));
    }
    for (_, n) in spec.notifications.iter() {
        let Some(mail) = &n.email else { continue };
        if let Some(span) = mail.spans.value("to") {
            found.push(("mail recipient", mail.to.as_str(), span, false));
        }
        if let (Some(from), Some(span)) = (&mail.from, mail.spans.value("from")) {
            found.push(("mail sender", from.as_str(), span, false));
        }
    }
    for (what, text, span, public) in found {
        if is_email(text, public) {
            continue;
        }
        out.push(
            Diagnostic::new(Code::InvalidEmail, span, format!("{what} `{}` is not a mail address", super::short(text)))
                .help("write an address such as `admin@example.com`"),
        );
    }
}

fn timezones(spec: &Spec, out: &mut Vec<Diagnostic>) {
    let top = spec.timezone.iter().map(|t| (t.value.as_str(), t.span, "every service is given this as `TZ`"));
    let env = spec.services.entries.iter().flat_map(|e| {
        e.value.env.entries.iter().filter(|v| v.name == "TZ").filter_map(|v| match &v.value.value {
            Value::Text(t) => Some((t.as_str(), v.value.span, "the service is given this as `TZ`")),
            Value::Secret(_) => None,
        })
    });
    for (name, span, label) in top.chain(env) {
        // A placeholder is `templates_in_env`'s to report.
        if tzdb::is_zone(name) || name.contains("{{") {
            continue;
        }
        let d = Diagnostic::new(
            Code::UnknownTimezone,
            span,
            format!("`{}` is not a timezone of the tz database", super::short(name)),
        )
        .label(format!("{label}, which the C library would read as UTC"));
        out.push(match tzdb::closest(name) {
            Some(zone) => d.help(format!("did you mean `{zone}`?")).suggest_part(span, name, zone),
            None => d.help("write a tz database name such as `Europe/Berlin`, `America/New_York` or `UTC`"),
        });
    }
}

/// The top-level-domain labels that are for local use only, so no public CA signs names under them.
const LOCAL_TLDS: [&str; 12] = [
    "arpa",
    "corp",
    "example",
    "home",
    "internal",
    "intranet",
    "invalid",
    "lan",
    "local",
    "localdomain",
    "localhost",
    "test",
];

/// Whether `name` is a domain: dot-separated DNS labels of letters, digits and `-`.
fn is_domain(name: &str) -> bool {
    name.len() <= 253
        && name.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        })
}

/// The bare domain inside what was written: no scheme, user, path, port, wildcard or final dot.
fn bare_domain(text: &str) -> String {
    let mut t = text.trim();
    if let Some((_, rest)) = t.split_once("://") {
        t = rest;
    }
    t = t.split(['/', '?', '#']).next().unwrap_or(t);
    if let Some((_, host)) = t.rsplit_once('@') {
        t = host;
    }
    if let Some((host, port)) = t.rsplit_once(':')
        && port.bytes().all(|c| c.is_ascii_digit())
    {
        t = host;
    }
    t.trim_start_matches("*.").trim_matches('.').to_ascii_lowercase()
}

fn domains(spec: &Spec, out: &mut Vec<Diagnostic>) {
    let domain = spec.domain.iter().map(|d| ("`domain`", d));
    let zone = spec.dns.iter().flat_map(|d| d.zone.iter()).map(|z| ("`dns.zone`", z));
    let exposed = spec.services.entries.iter().flat_map(|e| {
        e.value
            .expose
            .iter()
            .flat_map(|x| x.0.iter())
            .filter(|x| x.name.contains('.'))
            .map(|x| ("an exposed name", &x.name))
    });
    for (what, value) in domain.chain(zone).chain(exposed) {
        let text = value.value.as_str();
        if is_domain(text) {
            continue;
        }
        let bare = bare_domain(text);
        let d = Diagnostic::new(
            Code::DomainNotBare,
            value.span,
            format!("{what} `{}` is not a bare domain", super::short(text)),
        )
        .label("names are built as `<name>.<domain>`, so this would end up inside every one");
        out.push(if is_domain(&bare) {
            d.help(format!("write the domain alone: `{bare}`")).suggest_part(value.span, text.trim(), bare)
        } else {
            d.help("write DNS labels of letters, digits and `-` separated by dots, such as `home.example.com`")
        });
    }
}

/// Whether public CAs issue certificates for names under `domain`.
fn is_public(domain: &str) -> bool {
    let labels: Vec<&str> = domain.split('.').collect();
    labels.len() >= 2 && labels.last().is_some_and(|tld| !LOCAL_TLDS.iter().any(|l| tld.eq_ignore_ascii_case(l)))
}

/// ACME with no `domain:` would ask a public CA for names under `home.arpa`; with a local domain
/// (`lab.lan`, `home.local`) for names it will never sign. Either way every certificate fails.
fn acme_domain(spec: &Spec, out: &mut Vec<Diagnostic>) {
    let Some(tls) = spec.ingress.as_ref().and_then(|i| i.tls.as_ref()) else { return };
    let (Some(acme), Some(key)) = (&tls.acme, tls.spans.key("acme")) else { return };
    let domain = spec.domain.as_ref();
    if domain.is_some_and(|d| !is_domain(&d.value) || is_public(&d.value)) {
        return;
    }
    let message = match domain {
        None => "ACME certificates need a public domain, and `domain:` is not set, so names are under `home.arpa`"
            .to_string(),
        Some(d) => {
            format!("ACME certificates need a public domain, and `{}` is for local use only", super::short(&d.value))
        }
    };
    let mut d = Diagnostic::new(Code::AcmeWithoutPublicDomain, key, message)
        .label("no public CA signs names under a local domain")
        .help("set `domain:` to a domain you own, or replace `acme` with `internal: true` for a local CA");
    if let Some(dom) = domain {
        d = d.with(dom.span, "the homelab's domain");
    }
    // The edit swaps the whole `acme: …` entry for the local CA, which needs nothing else.
    let whole = Span { file: key.file, start: key.start, end: acme.span.end.max(key.end) };
    out.push(d.suggest(whole, "internal: true"));
}

/// `tls:` takes one of `acme`, `internal: true` and `none: true`; the DNS challenge needs the
/// provider whose API answers it and that API's token, or lego and Caddy have nothing to call.
fn tls_modes(spec: &Spec, out: &mut Vec<Diagnostic>) {
    let Some(tls) = spec.ingress.as_ref().and_then(|i| i.tls.as_ref()) else { return };
    let modes: Vec<(&str, Span)> = [
        ("acme", tls.acme.is_some()),
        ("internal: true", tls.internal == Some(true)),
        ("none: true", tls.none == Some(true)),
    ]
    .into_iter()
    .filter(|(_, on)| *on)
    .filter_map(|(m, _)| Some((m, tls.spans.key(m.split(':').next().unwrap_or(m))?)))
    .collect();
    // The later one in the file is the one reported, the earlier one the note.
    let mut modes = modes;
    modes.sort_by_key(|(_, span)| span.start);
    if let [(first, first_span), (second, span), ..] = modes.as_slice() {
        out.push(
            Diagnostic::new(Code::TlsModesConflict, *span, format!("`tls` sets both `{first}` and `{second}`"))
                .label("certificates come from one place")
                .with(*first_span, format!("`{first}` is set here"))
                .help(format!("keep one of `{first}` and `{second}`")),
        );
    }
    let Some(acme) = &tls.acme else { return };
    if acme.challenge != Some(hearth_spec::ast::Challenge::Dns) {
        return;
    }
    let span = acme.spans.value("challenge").unwrap_or(acme.span);
    match (&acme.provider, &acme.token) {
        (None, _) => out.push(
            Diagnostic::new(Code::AcmeDnsIncomplete, span, "the ACME DNS challenge needs a DNS provider")
                .label("no `provider:` says whose DNS API to call")
                .help("add `provider: cloudflare` (or your DNS host) and `token: \"secret:dns-token\"`, or use `challenge: http`")
                .suggest_part(span, "dns", "http"),
        ),
        (Some(provider), None) => out.push(
            Diagnostic::new(
                Code::AcmeDnsIncomplete,
                acme.spans.value("provider").unwrap_or(span),
                format!("the ACME DNS challenge through `{provider}` needs its API token"),
            )
            .label("no `token:` to call the provider's API with")
            .help(format!("add `token: \"secret:{provider}-dns-token\"` and set it with `hearth secrets set`")),
        ),
        _ => {}
    }
}

/// `{{ … }}` is expanded in catalog values only, except a service reference in a spec's `env`
/// (`{{ service.NAME.address }}`); any other would reach the service as the literal braces.
fn templates_in_env(spec: &Spec, model: &Model, out: &mut Vec<Diagnostic>) {
    for e in &spec.services.entries {
        // A volume's folder is a path as written; a placeholder in it names no folder at all.
        for v in e.value.volumes.entries.iter().filter(|v| v.value.value.contains("{{")) {
            out.push(
                Diagnostic::new(
                    Code::TemplateInEnv,
                    v.value.span,
                    format!("volume `{}` of `{}` holds a `{{{{ … }}}}` placeholder", v.name, e.name),
                )
                .label("placeholders are expanded in catalog entries only; this would be a folder of that name")
                .help("write the dataset (`tank/services/app`) or the absolute path itself"),
            );
        }
        for v in &e.value.env.entries {
            let Value::Text(text) = &v.value.value else { continue };
            // `{{ service.NAME.… }}` is the one placeholder a spec's `env` may hold (`docker`
            // checks it); any other is refused here.
            let others = crate::template::placeholders(text)
                .into_iter()
                .filter(|(_, inner)| crate::template::service_ref(inner).is_none())
                .map(|(range, inner)| (range.start, inner))
                .next();
            let unclosed = text.find("{{").filter(|_| crate::template::placeholders(text).is_empty());
            let Some((_, inner)) = others.or(unclosed.map(|s| (s, text[s + 2..].trim()))) else { continue };
            let whole = text.trim().strip_prefix("{{").and_then(|t| t.strip_suffix("}}")).map(str::trim);
            let d = Diagnostic::new(
                Code::TemplateInEnv,
                v.value.span,
                format!("`env.{}` of `{}` holds a `{{{{ … }}}}` placeholder", v.name, e.name),
            )
            .label("placeholders are expanded in catalog entries only; this would be passed on as written");
            // Only a secret declared under `secrets:`: that reference resolves whatever else the
            // spec says, so the edit cannot leave an unknown secret behind.
            let secret = whole.filter(|w| spec.secrets.contains(w));
            let known = match inner {
                "tz" | "timezone" => Some(model.timezone.clone()),
                "domain" => model.domain.clone(),
                "homelab" => Some(model.homelab.clone()),
                _ => None,
            };
            out.push(if let Some(name) = secret {
                let fixed = format!("secret:{name}");
                d.help(format!("refer to the secret as `{fixed}`")).suggest_part(v.value.span, text.trim(), fixed)
            } else if let (Some(value), Some(_)) = (known, whole) {
                d.help(format!("write the value itself: `{value}`")).suggest_part(v.value.span, text.trim(), value)
            } else {
                d.help("write the value itself, or `secret:NAME` for a secret declared under `secrets:`")
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, domain: bool, bare: &str, public: bool) {
        assert_eq!(is_domain(input), domain, "{input}");
        assert_eq!(bare_domain(input), bare, "{input}");
        assert_eq!(is_public(&bare_domain(input)), public, "{input}");
    }

    #[test]
    fn domains() {
        check("example.com", true, "example.com", true);
        check("https://example.com/", false, "example.com", true);
        check("http://user@lab.example.com:8443/path?q", false, "lab.example.com", true);
        check("*.example.com", false, "example.com", true);
        check("Example.COM.", false, "example.com", true);
        check("home.arpa", true, "home.arpa", false);
        check("lab.lan", true, "lab.lan", false);
        check("local", true, "local", false);
        check("my_lab.com", false, "my_lab.com", true);
        check(".example.com", false, "example.com", true);
    }

    #[test]
    fn emails() {
        assert!(is_email("admin@example.com", true));
        assert!(is_email("me+lab@mail.example.org", true));
        assert!(!is_email("admin", false));
        assert!(!is_email("admin@localhost", true));
        assert!(is_email("root@nas", false));
        assert!(!is_email("@example.com", false));
        assert!(!is_email("a b@example.com", false));
    }
}
