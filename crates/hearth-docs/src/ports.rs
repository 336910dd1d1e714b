//! Ports and URLs: the port map of every machine (published service ports and firewall openings),
//! the URL table of every exposed name, and the router's port forwards.

use std::collections::{BTreeMap, BTreeSet};

use hearth_model::Model;
use hearth_model::model::{Opening, Tls};
use hearth_spec::ast::Protocol;

use crate::machines;
use crate::md::Table;

pub fn write(model: &Model, out: &mut String) {
    out.push_str("## Ports and URLs\n\n");
    port_map(model, out);
    urls(model, out);
    crate::access::write(model, out);
    forwards(model, out);
}

/// The transports a port protocol listens on: DNS on both.
fn transports(p: Protocol) -> &'static [&'static str] {
    match p {
        Protocol::Udp => &["udp"],
        Protocol::Dns => &["udp", "tcp"],
        _ => &["tcp"],
    }
}

/// (port, transport) -> (what uses it, protocol) on one machine.
type PortUses = BTreeMap<(u16, String), Vec<(String, String)>>;

fn port_map(model: &Model, out: &mut String) {
    out.push_str("### Port map\n\n");
    // machine -> (port, transport) -> (service/port name, protocol)
    let mut ports: BTreeMap<String, PortUses> = BTreeMap::new();
    for (name, s) in &model.services {
        for m in s.machines() {
            for p in &s.ports {
                if let Some(h) = p.host {
                    let what = if p.container == h {
                        format!("{name} ({})", p.name)
                    } else {
                        format!("{name} ({}, container {})", p.name, p.container)
                    };
                    for t in transports(p.protocol) {
                        let proto = if p.protocol == Protocol::Dns {
                            format!("dns/{t}")
                        } else {
                            p.protocol.as_str().to_string()
                        };
                        ports
                            .entry(m.to_string())
                            .or_default()
                            .entry((h, t.to_string()))
                            .or_default()
                            .push((what.clone(), proto));
                    }
                }
            }
        }
    }
    if let Some(w) = &model.monitoring.watcher {
        let what = format!("{} (status page)", hearth_model::model::Watcher::UNIT);
        ports
            .entry(w.machine.clone())
            .or_default()
            .entry((w.listen.port(), "tcp".to_string()))
            .or_default()
            .push((what, "http".to_string()));
    }
    let listed: BTreeSet<&String> = ports.keys().chain(model.firewall.keys()).collect();
    let machines: Vec<String> = machines::machine_order(model).into_iter().filter(|m| listed.contains(m)).collect();
    if machines.is_empty() {
        out.push_str("No machine publishes a port.\n\n");
        return;
    }
    let empty: Vec<Opening> = Vec::new();
    for m in &machines {
        out.push_str(&format!("**{}**\n\n", machines::machine_label(model, m)));
        let openings = model.firewall.get(m).unwrap_or(&empty);
        let mut table = Table::new(&["Port", "Protocol", "Used by", "Open to"]);
        let mut keys: BTreeSet<(u16, String)> = ports.get(m).map(|p| p.keys().cloned().collect()).unwrap_or_default();
        keys.extend(openings.iter().map(|o| (o.port, o.protocol.to_string())));
        for key in keys {
            let matching: Vec<&Opening> =
                openings.iter().filter(|o| o.port == key.0 && o.protocol.as_str() == key.1).collect();
            let used: Vec<(String, String)> = ports.get(m).and_then(|p| p.get(&key)).cloned().unwrap_or_default();
            let protocol = used.first().map(|(_, p)| p.clone()).unwrap_or_else(|| key.1.clone());
            let service_port = !used.is_empty();
            let mut by: Vec<String> = used.into_iter().map(|(w, _)| w).collect();
            if !service_port {
                by = matching.iter().map(|o| o.reason.clone()).collect();
            }
            by.dedup();
            let open = if matching.is_empty() {
                "this machine only (not opened in the firewall)".to_string()
            } else {
                let mut parts: Vec<String> = Vec::new();
                for o in &matching {
                    let from = if o.from.is_empty() { "anywhere".to_string() } else { o.from.join(", ") };
                    let reason = o.reason.split_once(": ").map(|(_, r)| r).unwrap_or(&o.reason);
                    // A reason that only repeats the port's name adds nothing.
                    let echo = by.iter().any(|b| {
                        b.split_once(" (").is_some_and(|(_, n)| {
                            let name = n.split([',', ')']).next().unwrap_or(n);
                            reason.split([' ', ',']).next() == Some(name)
                        })
                    });
                    if service_port && !echo {
                        parts.push(format!("{from} ({reason})"));
                    } else {
                        parts.push(from);
                    }
                }
                let mut seen = BTreeSet::new();
                parts.retain(|f| seen.insert(f.clone()));
                let annotated: Vec<String> = parts.iter().filter(|p| p.contains(" (")).cloned().collect();
                parts.retain(|p| !annotated.iter().any(|a| a.starts_with(&format!("{p} ("))));
                parts.join("; ")
            };
            table.row(&[key.0.to_string(), protocol, by.join("; "), open]);
        }
        table.write(out);
    }
}

fn urls(model: &Model, out: &mut String) {
    out.push_str("### URLs\n\n");
    if model.routes.is_empty() {
        out.push_str("No service is exposed through the proxy.\n\n");
        return;
    }
    let scheme = if model.ingress.tls == Tls::None { "http" } else { "https" };
    let proxy = model.ingress.proxy.as_deref().unwrap_or("-");
    out.push_str(&format!("Served by the proxy `{proxy}`; TLS: {}.\n\n", tls(&model.ingress.tls)));
    if let Some(d) = &model.ingress.discover {
        let port = model.services.get(&d.socket_proxy).and_then(|s| s.ports.first()).and_then(|p| p.host);
        out.push_str(&format!(
            "The proxy discovers the containers of `{}` through `{}`{} (read-only, open to the proxy's machine only): \
             the routers of that machine's Docker services are labels on their containers, present while they run.\n\n",
            d.machine,
            d.socket_proxy,
            port.map(|p| format!(" on port {p}")).unwrap_or_default()
        ));
    }
    let middleware = model.routes.iter().any(|r| !r.middleware.is_empty());
    let mut heads = vec!["URL", "Service", "Upstream (machine:port)", "Access", "Auth"];
    if middleware {
        heads.push("Middleware");
    }
    let mut table = Table::new(&heads);
    for r in &model.routes {
        let machines = model.services.get(&r.service).map(|s| s.machines()).unwrap_or_default();
        let upstreams: Vec<String> = r
            .upstreams
            .iter()
            .map(|u| {
                let hostport = u.split("://").nth(1).unwrap_or(u).trim_end_matches('/');
                let m = machines
                    .iter()
                    .find(|m| model.machine_address(m).is_some_and(|a| hostport.starts_with(&format!("{a}:"))));
                match m {
                    Some(m) => format!("{m} {hostport}"),
                    None => hostport.to_string(),
                }
            })
            .collect();
        let mut row = vec![
            format!("{scheme}://{}", r.fqdn),
            r.service.clone(),
            upstreams.join(", "),
            r.access.as_str().to_string(),
            r.auth.as_str().to_string(),
        ];
        if middleware {
            row.push(middleware_cell(&r.middleware));
        }
        table.row(&row);
    }
    table.write(out);
}

/// A route's middleware in a few words: the allow-list, the rate limit, the headers, the backend.
fn middleware_cell(m: &hearth_model::model::Middleware) -> String {
    let mut parts = Vec::new();
    if let Some(allow) = &m.allow {
        parts.push(format!("allow {}", allow.join(" ")));
    }
    if let Some(r) = &m.rate_limit {
        parts.push(format!("{} req/{} (burst {})", r.rate, r.per, r.burst));
    }
    if !m.headers.is_empty() {
        parts.push(format!("{} headers", m.headers.len()));
    }
    if let Some(b) = &m.backend {
        parts.push(match (b.https, b.verify, &b.ca) {
            (false, _, _) => "HTTP backend".to_string(),
            (true, false, _) => "HTTPS backend, unverified".to_string(),
            (true, true, Some(_)) => "HTTPS backend, pinned CA".to_string(),
            (true, true, None) => "HTTPS backend".to_string(),
        });
    }
    if parts.is_empty() { "-".to_string() } else { parts.join("; ") }
}

fn tls(t: &Tls) -> String {
    match t {
        Tls::None => "none (plain HTTP)".to_string(),
        Tls::Internal => "a local CA".to_string(),
        Tls::Acme { challenge, provider, .. } => match provider {
            Some(p) => format!("ACME, {challenge} challenge via {p}"),
            None => format!("ACME, {challenge} challenge"),
        },
    }
}

fn forwards(model: &Model, out: &mut String) {
    out.push_str("### Router port forwards\n\n");
    if model.forwards.is_empty() {
        out.push_str("None: nothing is reachable from the internet through the router.\n\n");
        return;
    }
    let mut table = Table::new(&["WAN port", "Protocol", "To", "Address:port"]);
    for f in &model.forwards {
        let addr = f.to_address.map(|a| format!("{a}:{}", f.to_port)).unwrap_or_else(|| format!("?:{}", f.to_port));
        table.row(&[f.port.to_string(), f.protocol.to_string(), f.to.clone(), addr]);
    }
    table.write(out);
}
