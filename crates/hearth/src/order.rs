//! The order `apply` works on machines in: the data tier before its consumers, the proxy after
//! its upstreams. Derived from the model's `uses`, `after` and routes.

use std::collections::{BTreeMap, BTreeSet};

use hearth_model::Model;
use hearth_model::model::Placement;

/// `(before, after)` machine pairs for `hearth_deploy::ApplyOptions::order`. Dependencies come
/// first; a proxy edge that would close a cycle (a machine that both serves the proxy's routes
/// and uses something behind it) is left out, because the dependency it would contradict matters
/// more than the proxy reloading last.
pub fn edges(model: &Model) -> Vec<(String, String)> {
    let machine = |service: &str| match model.services.get(service).map(|s| &s.on) {
        Some(Placement::Guest(m) | Placement::Host(m)) => Some(m.clone()),
        _ => None,
    };
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut add = |before: Option<String>, after: Option<String>| {
        let (Some(before), Some(after)) = (before, after) else { return };
        if before != after && !reaches(&graph, &after, &before) {
            graph.entry(before).or_default().insert(after);
        }
    };
    for (name, service) in &model.services {
        for dependency in
            service.uses.iter().map(|u| u.service.as_str()).chain(service.after.iter().map(String::as_str))
        {
            add(machine(dependency), machine(name));
        }
    }
    if let Some(proxy) = &model.ingress.proxy {
        for route in &model.routes {
            add(machine(&route.service), machine(proxy));
        }
    }
    graph.into_iter().flat_map(|(before, afters)| afters.into_iter().map(move |a| (before.clone(), a))).collect()
}

/// Whether `to` can be reached from `from` along the edges.
fn reaches(graph: &BTreeMap<String, BTreeSet<String>>, from: &str, to: &str) -> bool {
    let mut seen = BTreeSet::new();
    let mut stack = vec![from.to_string()];
    while let Some(node) = stack.pop() {
        if node == to {
            return true;
        }
        if seen.insert(node.clone()) {
            stack.extend(graph.get(&node).into_iter().flatten().cloned());
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::edges;

    fn check(spec: &str, expected: &[(&str, &str)]) {
        let loaded = hearth_spec::load_str("t.yaml", spec);
        let analysis = hearth_model::analyze(&loaded.spec, hearth_catalog::builtin(), &Default::default());
        let expected: Vec<(String, String)> = expected.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect();
        assert_eq!(edges(&analysis.model), expected);
    }

    const MACHINES: &str = "homelab: t
domain: t.home.arpa
networks: { lan: { cidr: 192.168.50.0/24 } }
hosts: { pve: { address: 192.168.50.10, network: lan, proxmox: { node: pve } } }
guests:
  edge: { lxc: { on: pve }, network: lan }
  db: { lxc: { on: pve }, network: lan }
  apps: { vm: { on: pve }, network: lan, runtime: docker }
ingress: { proxy: caddy, tls: { internal: true } }
";

    #[test]
    fn data_tier_first_proxy_last() {
        check(
            &format!(
                "{MACHINES}services:
  caddy: {{ app: caddy, on: edge }}
  postgres: {{ app: postgresql, on: db }}
  web: {{ image: nginx, on: apps, ports: {{ http: 80 }}, uses: [postgres], expose: web }}
"
            ),
            &[("apps", "edge"), ("db", "apps")],
        );
    }

    #[test]
    fn a_proxy_edge_closing_a_cycle_is_left_out() {
        check(
            &format!(
                "{MACHINES}services:
  caddy: {{ app: caddy, on: edge }}
  redis: {{ app: redis, on: edge }}
  web: {{ image: nginx, on: apps, ports: {{ http: 80 }}, uses: [redis], expose: web }}
"
            ),
            &[("edge", "apps")],
        );
    }
}
