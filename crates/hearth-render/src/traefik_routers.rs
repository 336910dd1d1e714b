//! Traefik's routers, one per proxy location: the rule, entry point, middlewares and TLS that
//! the Traefik renderer writes into the file provider and, for the services of the machine
//! `ingress.discover.docker` names, the compose renderer writes as container labels instead.
//!
//! A discovered router's service and middlewares stay in the file provider (`NAME@file`):
//! Traefik's Docker provider would send requests to the container's address on its Docker
//! network, which a Traefik on another machine cannot reach, while the file provider's service
//! holds the published address Hearth computed. What the labels add is discovery itself: the
//! route exists while the container runs and is healthy.

use std::collections::BTreeMap;

use hearth_model::model::{Placement, Tls};
use hearth_spec::ast::{Auth, Form};

use crate::Context;
use crate::sites::{self, Location, Proxy, Site, SsoKind};

/// The catalog's name for the ACME resolver in routers; any name works, this one says what it is.
pub(crate) const RESOLVER: &str = "letsencrypt";

/// One router as Traefik's dynamic configuration states it.
pub(crate) struct Router {
    pub(crate) key: String,
    pub(crate) rule: String,
    pub(crate) entry: &'static str,
    pub(crate) middlewares: Vec<String>,
}

/// The router of location `l` of site `s`.
pub(crate) fn router(cx: &Context, s: &Site, l: &Location, sso: &SsoKind) -> Router {
    let mut middlewares: Vec<String> = Vec::new();
    if let Some(allow) = &l.allow {
        middlewares.push(allow.name.clone());
    }
    if let Some(rate) = &l.rate {
        middlewares.push(rate.name.clone());
    }
    match l.auth {
        Auth::None => {}
        Auth::Basic => middlewares.push("basic-auth".into()),
        Auth::Sso => middlewares.push(match sso {
            SsoKind::Authentik { .. } | SsoKind::Authelia { .. } => "sso".into(),
            SsoKind::Missing => "deny".into(),
        }),
    }
    if let Some(headers) = &l.headers {
        middlewares.push(headers.name.clone());
    }
    // Traefik ranks routers by rule length, so a path prefix wins over the bare name.
    let rule = match &l.path {
        Some(p) => format!("Host(`{}`) && PathPrefix(`{p}`)", s.fqdn),
        None => format!("Host(`{}`)", s.fqdn),
    };
    Router { key: l.key.clone(), rule, entry: entry(cx), middlewares }
}

/// The entry point routers listen on.
pub(crate) fn entry(cx: &Context) -> &'static str {
    if cx.model.ingress.tls == Tls::None { "web" } else { "websecure" }
}

/// The service whose container carries location `l`'s router as labels: with discovery on, a
/// location whose every service runs in Docker on the discovered machine alone (a replica
/// elsewhere, or a native service, keeps its router in the file provider), the first by name.
pub(crate) fn discovered<'a>(cx: &Context, l: &'a Location) -> Option<&'a str> {
    let d = cx.model.ingress.discover.as_ref()?;
    let here = |name: &String| {
        cx.model.services.get(name).is_some_and(|s| {
            s.form == Form::Docker
                && s.also_on.is_empty()
                && matches!(&s.on, Placement::Guest(m) | Placement::Host(m) if *m == d.machine)
                && Some(name) != cx.model.ingress.proxy.as_ref()
        })
    };
    (!l.services.is_empty() && l.services.iter().all(here)).then(|| l.services[0].as_str())
}

/// The Traefik labels of every discovered service's container, by service.
pub(crate) fn labels(cx: &Context) -> BTreeMap<String, BTreeMap<String, String>> {
    let mut out: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    let Some(proxy) = Proxy::find(cx, "traefik") else { return out };
    if cx.model.ingress.discover.is_none() {
        return out;
    }
    let sso = SsoKind::of(cx);
    for s in sites::sites(cx, &proxy) {
        for l in &s.locations {
            let Some(service) = discovered(cx, l) else { continue };
            let r = router(cx, &s, l, &sso);
            let labels = out.entry(service.to_string()).or_default();
            labels.insert("traefik.enable".into(), "true".into());
            let key = |field: &str| format!("traefik.http.routers.{}.{field}", r.key);
            labels.insert(key("rule"), r.rule.clone());
            labels.insert(key("entrypoints"), r.entry.to_string());
            labels.insert(key("service"), format!("{}@file", r.key));
            if !r.middlewares.is_empty() {
                let names: Vec<String> = r.middlewares.iter().map(|m| format!("{m}@file")).collect();
                labels.insert(key("middlewares"), names.join(","));
            }
            match &cx.model.ingress.tls {
                Tls::None => {}
                Tls::Internal => {
                    labels.insert(key("tls"), "true".into());
                }
                Tls::Acme { .. } => {
                    labels.insert(key("tls.certresolver"), RESOLVER.into());
                }
            }
            // The provider gives every labelled container a service of its own and drops the
            // container when it cannot tell that service's port: name the routed one.
            if let Some(port) = container_port(cx, service, l) {
                labels.insert(format!("traefik.http.services.{}-container.loadbalancer.server.port", r.key), port);
            }
        }
    }
    out
}

/// The container port behind the location's first upstream (which names the published port).
fn container_port(cx: &Context, service: &str, l: &Location) -> Option<String> {
    let up = l.upstreams.first()?;
    let port: u16 = up.rsplit(':').next()?.trim_end_matches('/').parse().ok()?;
    let s = cx.model.services.get(service)?;
    s.ports.iter().find(|p| p.host == Some(port)).map(|p| p.container.to_string())
}
