//! Exposure: TLS and auth in front of public names, ACME reachability, databases kept off the
//! proxy and the internet.

use std::collections::BTreeSet;

use hearth_catalog::{Catalog, Provides};
use hearth_spec::ast::{Access, Auth};
use hearth_spec::{Code, Diagnostic, Spec};

use crate::model::{Model, Placement};

/// ACME's HTTP challenge needs port 80 reachable from the internet. When the spec forwards ports
/// from the router but not 80, certificates for public names cannot be issued.
pub(super) fn acme_reachability(spec: &Spec, out: &mut Vec<Diagnostic>) {
    let Some(acme) = spec.ingress.as_ref().and_then(|i| i.tls.as_ref()).and_then(|t| t.acme.as_ref()) else {
        return;
    };
    if acme.challenge.is_some_and(|c| c != hearth_spec::ast::Challenge::Http) {
        return;
    }
    let Some(router) = &spec.router else { return };
    let public = spec.services.iter().any(|(_, s)| {
        s.expose
            .as_ref()
            .is_some_and(|x| x.0.iter().any(|e| e.access.as_ref().is_some_and(|a| a.value == Access::Public)))
    });
    if public && !router.forwards.is_empty() && !router.forwards.iter().any(|f| f.port.value == 80) {
        out.push(
            Diagnostic::new(
                Code::AcmeHttpUnreachable,
                acme.challenge.map_or(acme.span, |_| acme.spans.value("challenge").unwrap_or(acme.span)),
                "the ACME HTTP challenge needs port 80, but the router does not forward it",
            )
            .help("forward port 80 to the proxy (`router.forwards`), or use `challenge: dns` with a DNS provider"),
        );
    }
}

pub(super) fn exposure(spec: &Spec, catalog: &Catalog, out: &mut Vec<Diagnostic>) {
    let tls_off = spec
        .ingress
        .as_ref()
        .and_then(|i| i.tls.as_ref())
        .is_none_or(|t| t.none == Some(true) || (t.acme.is_none() && t.internal != Some(true)));
    let has_proxy = spec.ingress.as_ref().and_then(|i| i.proxy.as_ref()).is_some();
    for e in &spec.services.entries {
        let Some(x) = &e.value.expose else { continue };
        for ex in &x.0 {
            let access = ex.access.as_ref().map_or(Access::Internal, |a| a.value);
            if !has_proxy {
                out.push(
                    Diagnostic::new(
                        Code::MissingKey,
                        ex.name.span,
                        format!("service `{}` is exposed but the spec has no proxy", e.name),
                    )
                    .help("set `ingress: { proxy: <service> }` to a service running traefik, caddy or nginx"),
                );
            }
            if matches!(access, Access::Public) && tls_off {
                out.push(
                    Diagnostic::new(Code::PublicWithoutTls, ex.name.span, format!("`{}` is public without TLS", ex.name.value))
                        .label("reachable from the internet over plain HTTP")
                        .help("configure `ingress: { tls: { acme: { email: ... } } }`, or make the exposure `access: internal` or `tunnel`"),
                );
            }
            // Cloudflare Access in front of a tunnel's name is an identity check of its own.
            let identity = access == Access::Tunnel && ex.cloudflare_access.is_some();
            if matches!(access, Access::Public | Access::Tunnel) && ex.auth.is_none() && !identity {
                let has_own =
                    e.value.app.as_ref().and_then(|a| catalog.get(&a.value)).is_some_and(|a| a.provides(Provides::Sso));
                if !has_own {
                    out.push(
                        Diagnostic::new(Code::PublicWithoutAuth, ex.name.span, format!("`{}` is reachable from the internet with no auth in front", ex.name.value))
                            .help("add `auth: sso` (forward auth through `ingress.sso`), or `auth: none` to say the app's own login is enough"),
                    );
                }
            }
            if ex.auth.as_ref().is_some_and(|a| a.value == Auth::Sso)
                && spec.ingress.as_ref().and_then(|i| i.sso.as_ref()).is_none()
            {
                out.push(
                    Diagnostic::new(
                        Code::MissingKey,
                        ex.auth.as_ref().map_or(ex.name.span, |a| a.span),
                        "`auth: sso` needs an SSO provider",
                    )
                    .help("set `ingress: { sso: <service> }` to a service running authentik or authelia"),
                );
            }
        }
    }
}

pub(super) fn databases(spec: &Spec, catalog: &Catalog, model: &Model, out: &mut Vec<Diagnostic>) {
    for e in &spec.services.entries {
        let app = e.value.app.as_ref().and_then(|a| catalog.get(&a.value));
        let Some(kind) = app.and_then(|a| a.provides.iter().find(|p| p.is_database() && **p != Provides::S3)) else {
            continue;
        };
        if let Some(x) = &e.value.expose
            && let Some(ex) = x.0.first()
        {
            let mut d = Diagnostic::new(
                Code::DatabaseExposed,
                ex.name.span,
                format!("database `{}` ({}) is exposed through the proxy", e.name, kind.as_str()),
            )
            .help("databases are reached by their consumers through `uses:`; remove `expose:`");
            if let (Some(k), Some(v)) = (e.value.spans.key("expose"), e.value.spans.value("expose")) {
                d = d.suggest_removal(k.to(v));
            }
            out.push(d);
        }
        if let Some(r) = &spec.router {
            for f in r.forwards.iter().filter(|f| f.to.value == e.name) {
                out.push(
                    Diagnostic::new(
                        Code::DatabaseExposed,
                        f.to.span,
                        format!("the router forwards port {} to database `{}`", f.port.value, e.name),
                    )
                    .help("never forward a database port from the internet; use the VPN"),
                );
            }
        }
        // Hearth's firewall opens a database port only to its consumers, but only on machines
        // it manages. On an unmanaged machine, every other machine of its zone reaches it.
        let Some(s) = model.services.get(&e.name) else { continue };
        let Placement::Guest(dbg) = &s.on else { continue };
        let Some(guest) = model.guests.get(dbg) else { continue };
        if guest.managed {
            continue;
        }
        let Some(zone) = guest.zone.clone() else { continue };
        let consumers: BTreeSet<String> = model
            .services
            .iter()
            .filter(|(_, c)| c.uses.iter().any(|u| u.service == e.name))
            .map(|(_, c)| c.on.name().to_string())
            .collect();
        let strangers: Vec<&String> = model
            .guests
            .iter()
            .filter(|(n, g)| g.zone.as_ref() == Some(&zone) && *n != dbg && !consumers.contains(*n))
            .map(|(n, _)| n)
            .collect();
        if !strangers.is_empty() {
            let list: Vec<String> = strangers.iter().take(5).map(|s| format!("`{s}`")).collect();
            out.push(
                Diagnostic::new(
                    Code::DatabaseReachable,
                    e.key_span,
                    format!(
                        "database `{}` is on `{dbg}`, which Hearth does not manage, so {} in zone `{zone}` {} it too",
                        e.name,
                        list.join(", "),
                        if strangers.len() == 1 { "reaches" } else { "reach" }
                    ),
                )
                .help("let Hearth manage the guest (its firewall then admits only consumers), or give the database a zone of its own"),
            );
        }
    }
}
