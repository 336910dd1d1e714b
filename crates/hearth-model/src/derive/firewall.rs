//! Inbound firewall openings per machine, derived from the service graph. Everything not opened
//! here is dropped by the rendered rulesets.

use std::collections::{BTreeMap, BTreeSet};

use hearth_catalog::{Catalog, Provides};
use hearth_spec::ast::{L4, Protocol};

use crate::model::{Model, Opening, Placement};

/// The address and port a restic repository URL reaches, for `s3:`, `rest:` and `sftp:` URLs.
fn repository_endpoint(url: &str) -> Option<(String, u16)> {
    let (scheme, rest) = url.split_once(':')?;
    match scheme {
        "s3" | "rest" => {
            let rest = rest.trim_start_matches("//");
            let (default, rest) = match rest.split_once("://") {
                Some(("https", r)) => (443, r),
                Some((_, r)) => (80, r),
                None => (if scheme == "s3" { 443 } else { 8000 }, rest),
            };
            let authority = rest.split('/').next()?;
            let authority = authority.rsplit('@').next()?;
            match authority.rsplit_once(':') {
                Some((h, p)) => Some((h.to_string(), p.parse().ok()?)),
                None => Some((authority.to_string(), default)),
            }
        }
        "sftp" => {
            let authority = rest.trim_start_matches("//").split(':').next()?;
            Some((authority.rsplit('@').next()?.to_string(), 22))
        }
        _ => None,
    }
}

/// Zone names treated as the management zone (SSH comes from there).
const MANAGEMENT: &[&str] = &["management", "mgmt", "admin"];

pub fn derive(catalog: &Catalog, model: &mut Model) {
    let all_networks: Vec<String> = model.networks.values().map(|n| n.cidr.clone()).collect();
    let management: Vec<String> =
        model.networks.values().filter(|n| MANAGEMENT.contains(&n.zone.as_str())).map(|n| n.cidr.clone()).collect();
    let ssh_from = if management.is_empty() { all_networks.clone() } else { management };
    let address_of = |machine: &str| model.machine_address(machine).map(|a| a.to_string());
    let service_addr = |name: &Option<String>| -> Vec<String> {
        name.as_ref().and_then(|n| model.services.get(n)).and_then(|s| address_of(s.on.name())).into_iter().collect()
    };
    let prometheus = service_addr(&model.monitoring.prometheus);
    let mut proxies = service_addr(&model.ingress.proxy);
    proxies.extend(service_addr(&model.ingress.tunnel));
    let mut rules: BTreeMap<String, BTreeSet<Opening>> = BTreeMap::new();
    let machines: Vec<String> = model
        .guests
        .iter()
        .filter(|(_, g)| g.managed)
        .map(|(n, _)| n.clone())
        .chain(model.hosts.iter().filter(|(_, h)| h.runtime.is_some()).map(|(n, _)| n.clone()))
        .collect();
    for m in &machines {
        rules.entry(m.clone()).or_default().insert(Opening {
            port: 22,
            protocol: L4::Tcp,
            from: ssh_from.clone(),
            reason: "SSH from the management zone".into(),
        });
    }
    // Each service's consumers' machine addresses, built once: looking them up per service would
    // scan every service's `uses` for every service, quadratic in the size of the homelab.
    let mut consumer_addresses: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for c in model.services.values() {
        let machines: Vec<String> = std::iter::once(c.on.name().to_string())
            .chain(c.also_on.iter().cloned())
            .filter_map(|m| address_of(&m))
            .collect();
        for u in &c.uses {
            consumer_addresses.entry(u.service.as_str()).or_default().extend(machines.iter().cloned());
        }
    }
    for v in consumer_addresses.values_mut() {
        v.sort();
        v.dedup();
    }
    let exposed_ports: BTreeSet<(String, u16)> =
        model.services.iter().flat_map(|(n, s)| s.exposes.iter().map(move |x| (n.clone(), x.port))).collect();
    for (name, s) in &model.services {
        if let Placement::Cluster(cluster) = &s.on {
            // Exposed cluster services are reached through the ingress controller on the
            // cluster's servers (see the routes), from the proxy only.
            if !s.exposes.is_empty() && !proxies.is_empty() {
                for server in model.clusters.get(cluster).map(|c| c.servers.as_slice()).unwrap_or_default() {
                    rules.entry(server.clone()).or_default().insert(Opening {
                        port: 80,
                        protocol: L4::Tcp,
                        from: proxies.clone(),
                        reason: format!("cluster `{cluster}` ingress behind the proxy"),
                    });
                }
            }
            continue;
        }
        let machine = s.on.name().to_string();
        let app = s.app.as_deref().and_then(|a| catalog.get(a));
        let provides: Vec<Provides> = app.map(|a| a.provides.clone()).unwrap_or_default();
        let consumers: Vec<String> = consumer_addresses.get(name.as_str()).cloned().unwrap_or_default();
        // Only a metrics port of its own is limited to Prometheus; when the app serves metrics on
        // its main port (Loki, Grafana) that port is for its clients too.
        let primary = app.and_then(|a| a.primary_port()).map(|(n, _)| n.to_string());
        // A port that serves nothing but metrics is Prometheus's even when it is the app's main one.
        let metrics_port = app
            .and_then(|a| a.metrics.as_ref())
            .map(|m| m.port.clone())
            .filter(|m| Some(m) != primary.as_ref() || app.and_then(|a| a.metrics_only_port()) == Some(m.as_str()));
        // Companions' published ports are opened like the service's own: they serve the same clients.
        for p in s.ports.iter().chain(s.companions.iter().flat_map(|c| &c.ports)) {
            let Some(port) = p.host else { continue };
            let protos: &[L4] = match p.protocol {
                Protocol::Udp => &[L4::Udp],
                Protocol::Dns => &[L4::Tcp, L4::Udp],
                _ => &[L4::Tcp],
            };
            let (from, reason) = if provides.iter().any(|k| k.is_database()) {
                // Consumers always reach a data service's ports; Prometheus too when the port
                // also serves metrics (MinIO's S3 API does).
                let mut from = consumers.clone();
                if Some(&p.name) == metrics_port.as_ref() {
                    from.extend(prometheus.iter().cloned());
                    from.sort();
                    from.dedup();
                }
                (from, format!("{name}: {} for its consumers", p.name))
            } else if provides.contains(&Provides::Proxy) {
                (Vec::new(), format!("{name}: {} (reverse proxy)", p.name))
            } else if provides.contains(&Provides::Dns) && port == 53 {
                (all_networks.clone(), format!("{name}: DNS for the homelab"))
            } else if Some(&p.name) == metrics_port.as_ref() && !exposed_ports.contains(&(name.clone(), port)) {
                (prometheus.clone(), format!("{name}: metrics for Prometheus"))
            } else if exposed_ports.contains(&(name.clone(), port)) && !proxies.is_empty() {
                (proxies.clone(), format!("{name}: {} behind the proxy", p.name))
            } else {
                (all_networks.clone(), format!("{name}: {}", p.name))
            };
            if provides.iter().any(|k| k.is_database()) && from.is_empty() {
                // A database nobody uses is reachable from nowhere.
                continue;
            }
            for proto in protos {
                let opening = Opening { port, protocol: *proto, from: from.clone(), reason: reason.clone() };
                rules.entry(machine.clone()).or_default().insert(opening.clone());
                for other in &s.also_on {
                    rules.entry(other.clone()).or_default().insert(opening.clone());
                }
            }
        }
    }
    if !prometheus.is_empty() {
        let node_port =
            catalog.get("node-exporter").and_then(|a| a.ports.iter().next().map(|(_, p)| p.port)).unwrap_or(9100);
        if model.monitoring.scrape.iter().any(|j| j.job == "node") {
            for m in &machines {
                rules.entry(m.clone()).or_default().insert(Opening {
                    port: node_port,
                    protocol: L4::Tcp,
                    from: prometheus.clone(),
                    reason: "node exporter for Prometheus".into(),
                });
            }
        }
    }
    // Backup jobs reach restic repositories served by machines of the homelab (MinIO's S3 API,
    // a REST server, SFTP on a storage machine).
    let addresses: BTreeMap<String, String> = model
        .guests
        .iter()
        .filter_map(|(n, g)| g.address.map(|a| (a.to_string(), n.clone())))
        .chain(model.hosts.iter().filter_map(|(n, h)| h.address.map(|a| (a.to_string(), n.clone()))))
        .collect();
    for (repo_name, repo) in &model.backups.repositories {
        let crate::model::Repository::Restic { url, .. } = repo else { continue };
        let Some((host, port)) = repository_endpoint(url) else { continue };
        let Some(machine) = addresses.get(&host) else { continue };
        let mut from: Vec<String> = model
            .backups
            .jobs
            .iter()
            .filter(|j| model.backups.policies.get(&j.policy).is_some_and(|p| p.to.contains(repo_name)))
            .filter_map(|j| address_of(&j.machine))
            .collect();
        from.sort();
        from.dedup();
        if from.is_empty() {
            continue;
        }
        let set = rules.entry(machine.clone()).or_default();
        // The port may already be open to its consumers: widen that opening rather than adding a
        // second rule for the same port.
        let existing = set.iter().find(|o| o.port == port && o.protocol == L4::Tcp && !o.from.is_empty()).cloned();
        match existing {
            Some(mut o) => {
                set.remove(&o);
                o.from.extend(from);
                o.from.sort();
                o.from.dedup();
                o.reason = format!("{}; backups to repository `{repo_name}`", o.reason);
                set.insert(o);
            }
            None => {
                set.insert(Opening {
                    port,
                    protocol: L4::Tcp,
                    from,
                    reason: format!("backups to repository `{repo_name}`"),
                });
            }
        }
    }
    for f in &model.forwards {
        let machine =
            if model.services.contains_key(&f.to) { model.services[&f.to].on.name().to_string() } else { f.to.clone() };
        rules.entry(machine).or_default().insert(Opening {
            port: f.to_port,
            protocol: f.protocol,
            from: Vec::new(),
            reason: format!("router forward of WAN port {}", f.port),
        });
    }
    model.firewall = rules.into_iter().map(|(m, set)| (m, set.into_iter().collect())).collect();
}
