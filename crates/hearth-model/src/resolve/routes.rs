//! Proxy routes and DNS records from the exposures, and the proxy's own environment.

use std::collections::BTreeMap;
use std::net::IpAddr;

use hearth_spec::ast::{Auth, Protocol};
use hearth_spec::{Code, Diagnostic};

use super::Resolver;
use crate::model::{DnsRecord, Model, Placement, Route, Template};

impl Resolver<'_> {
    /// The proxy process's own secrets, as environment: the ACME DNS provider's token and the
    /// basic-auth credentials. Put on the proxy service, they reach its container through the
    /// same 0600 secret file as any other secret variable.
    pub(super) fn proxy_environment(&mut self, model: &mut Model) {
        let Some(ingress) = &self.spec.ingress else { return };
        let Some(proxy) = ingress.proxy.as_ref().map(|p| p.value.clone()) else { return };
        let Some(app) = model.services.get(&proxy).and_then(|s| s.app.clone()) else { return };
        let mut env: Vec<(String, Template)> = Vec::new();
        if let Some(acme) = ingress.tls.as_ref().and_then(|t| t.acme.as_ref())
            && acme.challenge == Some(hearth_spec::ast::Challenge::Dns)
            && let (Some(provider), Some(token)) = (&acme.provider, &acme.token)
            && let Some(var) = crate::derive::ingress::dns_token_var(&app, provider)
        {
            env.push((var, Template::secret(crate::derive::reference(self.spec, token))));
        }
        // With `ingress.basic_auth` users the proxies read a users file instead.
        let basic = ingress.basic_auth.is_empty()
            && model.services.values().any(|s| s.exposes.iter().any(|x| x.auth == Auth::Basic));
        if basic {
            use crate::derive::ingress::{
                BASIC_AUTH_HASH, BASIC_AUTH_USER, CADDY_BASIC_HASH_VAR, CADDY_BASIC_USER_VAR,
            };
            for (var, name) in [(CADDY_BASIC_USER_VAR, BASIC_AUTH_USER), (CADDY_BASIC_HASH_VAR, BASIC_AUTH_HASH)] {
                let secret = self.external_secret(name, &proxy, model);
                if app == "caddy" {
                    env.push((var.to_string(), secret));
                }
            }
        }
        if let Some(s) = model.services.get_mut(&proxy) {
            s.env.extend(env);
        }
    }

    pub(super) fn fqdn(&self, name: &str, model: &Model) -> String {
        if name.contains('.') {
            name.to_string()
        } else {
            format!("{name}.{}", model.domain.as_deref().unwrap_or("home.arpa"))
        }
    }

    pub(super) fn routes_and_dns(&mut self, model: &mut Model) {
        // The proxy listens on its machine's 80 and 443 and reads its routes from files there; a
        // pod has neither, so the proxy runs on a guest or host and routes into clusters.
        if let Some(p) = self.spec.ingress.as_ref().and_then(|i| i.proxy.as_ref())
            && let Some(Placement::Cluster(cluster)) = model.services.get(&p.value).map(|s| &s.on)
        {
            self.diags.push(
                Diagnostic::new(
                    Code::ProxyOnCluster,
                    p.span,
                    format!("the proxy `{}` runs on cluster `{cluster}`; it must run on a guest or host", p.value),
                )
                .help(format!(
                    "place `{}` on a guest or host (`on: <guest>`): it routes to the cluster's services at their NodePorts",
                    p.value
                )),
            );
        }
        let proxy_addr = self
            .spec
            .ingress
            .as_ref()
            .and_then(|i| i.proxy.as_ref())
            .and_then(|p| model.services.get(&p.value))
            .and_then(|s| s.address);
        let mut routes = Vec::new();
        let mut answers: BTreeMap<String, IpAddr> = BTreeMap::new();
        for (name, s) in &model.services {
            for x in &s.exposes {
                let mut upstreams = Vec::new();
                // Each machine by address, or by name when it has none (resolved through DNS).
                let machines = s
                    .machines()
                    .into_iter()
                    .map(|m| model.machine_address(m).map_or_else(|| m.to_string(), |a| a.to_string()));
                // A port the catalog says speaks HTTPS (Portainer's 9443) is reached over HTTPS.
                let https_port = s.ports.iter().any(|p| p.reachable() == x.port && p.protocol == Protocol::Https);
                let https = x.middleware.backend.as_ref().map_or(https_port, |b| b.https);
                let scheme = if https { "https" } else { "http" };
                if let Placement::Cluster(cluster) = &s.on {
                    // A service on a cluster is reached at the NodePort of the exposed port, on
                    // every node of the cluster (kube-proxy forwards it to a pod wherever it
                    // runs): the homelab's proxy routes and terminates TLS, so the cluster needs
                    // no ingress controller of its own.
                    let node_port = s
                        .ports
                        .iter()
                        .find(|p| p.reachable() == x.port || p.container == x.port)
                        .and_then(|p| s.node_ports.get(&p.name));
                    if let Some(node_port) = node_port {
                        for g in model.cluster_nodes(cluster) {
                            let at = model.machine_address(g).map_or_else(|| g.to_string(), |a| a.to_string());
                            upstreams.push(format!("{scheme}://{at}:{node_port}"));
                        }
                    }
                } else {
                    for m in machines {
                        upstreams.push(format!("{scheme}://{m}:{}", x.port));
                    }
                }
                routes.push(Route {
                    fqdn: x.fqdn.clone(),
                    path: x.path.clone(),
                    service: name.clone(),
                    upstreams,
                    access: x.access,
                    auth: x.auth,
                    middleware: x.middleware.clone(),
                    cloudflare_access: x.cloudflare_access.clone(),
                });
                if let Some(addr) = proxy_addr {
                    answers.entry(x.fqdn.clone()).or_insert(addr);
                }
            }
        }
        routes.sort_by(|a, b| (&a.fqdn, &a.path).cmp(&(&b.fqdn, &b.path)));
        model.routes = routes;
        if let Some(dns) = &self.spec.dns {
            let zone = dns
                .zone
                .as_ref()
                .map(|z| z.value.clone())
                .or_else(|| model.domain.clone())
                .unwrap_or_else(|| "home.arpa".into());
            for e in &dns.records.entries {
                let name = if e.name.contains('.') { e.name.clone() } else { format!("{}.{zone}", e.name) };
                // A record for a name that already has an answer is not served: an exposed name
                // answers with the proxy's address, where its route is (W510), and a second
                // record of the same name loses to the first (W651).
                answers.entry(name).or_insert(e.value.value.0);
            }
        }
        // One name, one answer: a resolver holding two answers for a name hands out either, so
        // half the lookups would miss the route. The map keeps names sorted.
        model.dns_records = answers.into_iter().map(|(name, address)| DnsRecord { name, address }).collect();
    }
}
