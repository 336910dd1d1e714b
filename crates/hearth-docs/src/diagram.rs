//! Topology diagram: hosts as boxes holding one box per network, guests inside with their
//! address, size and services; edges for the way in from the internet (router forwards, tunnel),
//! the proxy's routes and the connections services make to other machines (`uses`). Written as
//! Graphviz DOT ([`dot`]) and as a Mermaid flowchart inlined in the README ([`mermaid`]).

use std::collections::{BTreeMap, BTreeSet};

use hearth_catalog::Catalog;
use hearth_model::Model;
use hearth_model::model::{Host, HostKind, Placement};
use hearth_spec::ast::Access;

use crate::machines::{guests_of, kind_label};
use crate::{DOT_FILE, Options, SVG_FILE};

/// One box in the diagram.
struct Node {
    id: String,
    /// Label lines; the first is the title.
    lines: Vec<String>,
    kind: NodeKind,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum NodeKind {
    Host,
    Guest,
    Appliance,
    External,
    Cluster,
}

/// A box of boxes: a host, or a network inside a host.
struct Group {
    id: String,
    label: String,
    nodes: Vec<Node>,
    groups: Vec<Group>,
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum EdgeKind {
    Internet,
    /// From the tunnel to the proxy, with the tunnelled names.
    Tunnel,
    Proxy,
    Uses,
}

struct Graph {
    groups: Vec<Group>,
    loose: Vec<Node>,
    /// (from, to, kind) -> labels.
    edges: BTreeMap<(String, String, EdgeKind), BTreeSet<String>>,
}

fn node_id(machine: &str) -> String {
    format!("m_{}", machine.replace(['-', '.', ':', '/'], "_"))
}

fn wrap(items: &[String], width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut cur = String::new();
    for it in items {
        if !cur.is_empty() && cur.len() + 2 + it.len() > width {
            lines.push(format!("{cur},"));
            cur.clear();
        }
        if !cur.is_empty() {
            cur.push_str(", ");
        }
        cur.push_str(it);
    }
    if !cur.is_empty() {
        lines.push(cur);
    }
    lines
}

fn services_of(model: &Model, machine: &str) -> Vec<String> {
    model
        .services
        .iter()
        .filter(|(_, s)| s.on.name() == machine || s.also_on.iter().any(|m| m == machine))
        .map(|(n, s)| if s.on.name() == machine { n.clone() } else { format!("{n} (replica)") })
        .collect()
}

fn host_lines(name: &str, h: &Host) -> Vec<String> {
    let mut lines = vec![name.to_string()];
    let kind = match h.kind {
        HostKind::Proxmox => "Proxmox".to_string(),
        HostKind::BareMetal => {
            format!("bare metal{}", h.runtime.map(|r| format!(", {r}")).unwrap_or_default())
        }
    };
    lines.push(match h.address {
        Some(a) => format!("{kind} · {a}"),
        None => kind,
    });
    let mut size = Vec::new();
    match (h.cores, h.threads) {
        (Some(c), Some(t)) => size.push(format!("{c}C/{t}T")),
        (Some(c), None) => size.push(format!("{c} cores")),
        (None, Some(t)) => size.push(format!("{t} threads")),
        (None, None) => {}
    }
    if let Some(m) = h.memory {
        size.push(m.to_string());
    }
    if !size.is_empty() {
        lines.push(size.join(" · "));
    }
    lines
}

fn build(model: &Model) -> Graph {
    let mut groups = Vec::new();
    let mut loose = Vec::new();
    for (hname, h) in &model.hosts {
        let mut lines = host_lines(hname, h);
        let svcs = services_of(model, hname);
        if !svcs.is_empty() {
            lines.push(String::new());
            lines.extend(wrap(&svcs, 40));
        }
        let host_node = Node { id: node_id(hname), lines, kind: NodeKind::Host };
        let mut nets: BTreeMap<String, Vec<Node>> = BTreeMap::new();
        for (gname, g) in guests_of(model, hname) {
            let mut lines = vec![gname.clone()];
            lines.push(match g.address {
                Some(a) => format!("{} · {a}", kind_label(g)),
                None => kind_label(g),
            });
            lines.push(format!("{} vCPU · {} · {}", g.cores, g.memory, g.disk));
            let svcs = services_of(model, gname);
            if !svcs.is_empty() {
                lines.push(String::new());
                lines.extend(wrap(&svcs, 40));
            }
            let kind = if g.managed { NodeKind::Guest } else { NodeKind::Appliance };
            nets.entry(g.network.clone().unwrap_or_default()).or_default().push(Node {
                id: node_id(gname),
                lines,
                kind,
            });
        }
        let sub = nets
            .into_iter()
            .map(|(net, nodes)| {
                let label = match model.networks.get(&net) {
                    Some(n) => match n.vlan {
                        Some(v) => format!("{net} · {} · VLAN {v}", n.cidr),
                        None => format!("{net} · {}", n.cidr),
                    },
                    None if net.is_empty() => "no network".to_string(),
                    None => net.clone(),
                };
                Group {
                    id: format!("net_{}__{}", node_id(hname), net.replace('-', "_")),
                    label,
                    nodes,
                    groups: Vec::new(),
                }
            })
            .collect();
        groups.push(Group {
            id: format!("host_{}", node_id(hname)),
            label: format!("host {hname}"),
            nodes: vec![host_node],
            groups: sub,
        });
    }
    for (gname, g) in &model.guests {
        if !model.hosts.contains_key(&g.host) {
            loose.push(Node { id: node_id(gname), lines: vec![gname.clone(), kind_label(g)], kind: NodeKind::Guest });
        }
    }
    let clusters: BTreeSet<String> = model
        .services
        .values()
        .filter_map(|s| match &s.on {
            Placement::Cluster(c) => Some(c.clone()),
            _ => None,
        })
        .collect();
    for c in &clusters {
        let mut lines = vec![format!("cluster {c}")];
        lines.extend(wrap(&services_of(model, c), 40));
        loose.push(Node { id: node_id(c), lines, kind: NodeKind::Cluster });
    }

    let mut edges: BTreeMap<(String, String, EdgeKind), BTreeSet<String>> = BTreeMap::new();
    let tunnel_routes: Vec<&hearth_model::model::Route> =
        model.routes.iter().filter(|r| r.access == Access::Tunnel).collect();
    let needs_internet = !model.forwards.is_empty() || !tunnel_routes.is_empty();
    if needs_internet {
        loose.push(Node { id: "internet".into(), lines: vec!["Internet".into()], kind: NodeKind::External });
    }
    if !model.forwards.is_empty() {
        let gws: BTreeSet<String> = model.networks.values().filter_map(|n| n.gateway.map(|g| g.to_string())).collect();
        let mut lines = vec!["router".to_string()];
        lines.extend(wrap(&gws.into_iter().collect::<Vec<_>>(), 40));
        loose.push(Node { id: "router".into(), lines, kind: NodeKind::External });
        edges.entry(("internet".into(), "router".into(), EdgeKind::Internet)).or_default();
        for f in &model.forwards {
            let target = machine_of(model, &f.to);
            edges
                .entry(("router".into(), node_id(&target), EdgeKind::Internet))
                .or_default()
                .insert(format!("{}/{}", f.port, f.protocol));
        }
    }
    let proxy_machine = model.ingress.proxy.as_deref().map(|p| machine_of(model, p));
    let tunnel_machine = model.ingress.tunnel.as_deref().map(|t| machine_of(model, t));
    if let Some(t) = &tunnel_machine
        && !tunnel_routes.is_empty()
    {
        edges.entry(("internet".into(), node_id(t), EdgeKind::Internet)).or_default().insert("tunnel".into());
        // Routes are the proxy's: a tunnelled name reaches its service through the proxy.
        if let Some(p) = &proxy_machine
            && p != t
        {
            let names = edges.entry((node_id(t), node_id(p), EdgeKind::Tunnel)).or_default();
            for r in &tunnel_routes {
                names.insert(r.fqdn.clone());
            }
        }
    }
    for r in &model.routes {
        let Some(svc) = model.services.get(&r.service) else { continue };
        let from = match (&proxy_machine, r.access) {
            (Some(p), _) => Some(p.clone()),
            (None, Access::Tunnel) => tunnel_machine.clone(),
            (None, _) => None,
        };
        let Some(from) = from else { continue };
        for m in svc.machines() {
            if m != from {
                edges.entry((node_id(&from), node_id(m), EdgeKind::Proxy)).or_default().insert(r.service.clone());
            }
        }
    }
    for s in model.services.values() {
        for u in &s.uses {
            let Some(server) = model.services.get(&u.service) else { continue };
            let to = server.on.name();
            for m in s.machines() {
                if m != to {
                    edges.entry((node_id(m), node_id(to), EdgeKind::Uses)).or_default().insert(u.service.clone());
                }
            }
        }
    }
    Graph { groups, loose, edges }
}

/// The machine a guest, host or service name runs on.
fn machine_of(model: &Model, name: &str) -> String {
    match model.services.get(name) {
        Some(s) if !model.guests.contains_key(name) && !model.hosts.contains_key(name) => s.on.name().to_string(),
        _ => name.to_string(),
    }
}

fn edge_label(kind: EdgeKind, labels: &BTreeSet<String>) -> String {
    let list: Vec<String> = labels.iter().cloned().collect();
    match kind {
        EdgeKind::Proxy if list.len() > 3 => format!("proxy: {} routes", list.len()),
        EdgeKind::Proxy => format!("proxy: {}", list.join(", ")),
        EdgeKind::Tunnel if list.len() > 3 => format!("tunnel: {} names", list.len()),
        EdgeKind::Tunnel => format!("tunnel: {}", list.join(", ")),
        _ => wrap(&list, 28).join("\n"),
    }
}

fn dot_escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

/// The topology as Graphviz DOT; `dot -Tsvg` renders it.
pub fn dot(model: &Model, _catalog: &Catalog) -> String {
    let g = build(model);
    let mut out = String::new();
    out.push_str(&format!("digraph \"{}\" {{\n", dot_escape(&model.homelab)));
    out.push_str("  graph [rankdir=LR, fontname=\"Helvetica\", fontsize=14, nodesep=0.3, ranksep=1.0, newrank=true, ");
    out.push_str(&format!("labelloc=t, label=\"{} topology\"];\n", dot_escape(&model.homelab)));
    out.push_str(
        "  node [shape=box, style=\"rounded,filled\", fontname=\"Helvetica\", fontsize=11, fillcolor=\"#ffffff\"];\n",
    );
    out.push_str("  edge [fontname=\"Helvetica\", fontsize=9];\n");
    for grp in &g.groups {
        dot_group(grp, 1, &mut out);
    }
    for n in &g.loose {
        dot_node(n, 1, &mut out);
    }
    for ((from, to, kind), labels) in &g.edges {
        let style = match kind {
            EdgeKind::Internet | EdgeKind::Tunnel => "color=\"#c0392b\", fontcolor=\"#c0392b\", penwidth=1.6",
            EdgeKind::Proxy => "color=\"#2e86c1\", fontcolor=\"#2e86c1\"",
            EdgeKind::Uses => "color=\"#7f8c8d\", fontcolor=\"#616a6b\", style=dashed",
        };
        let label = edge_label(*kind, labels);
        if label.is_empty() {
            out.push_str(&format!("  \"{from}\" -> \"{to}\" [{style}];\n"));
        } else {
            out.push_str(&format!(
                "  \"{from}\" -> \"{to}\" [{style}, label=\"{}\"];\n",
                dot_escape(&label).replace('\n', "\\n")
            ));
        }
    }
    out.push_str("}\n");
    out
}

fn dot_group(grp: &Group, depth: usize, out: &mut String) {
    let pad = "  ".repeat(depth);
    let (fill, color) = if depth == 1 { ("#f4f6f7", "#566573") } else { ("#eaf2f8", "#85929e") };
    out.push_str(&format!("{pad}subgraph \"cluster_{}\" {{\n", grp.id));
    out.push_str(&format!(
        "{pad}  label=\"{}\"; style=\"rounded,filled\"; fillcolor=\"{fill}\"; color=\"{color}\"; fontsize={};\n",
        dot_escape(&grp.label),
        if depth == 1 { 13 } else { 11 }
    ));
    for n in &grp.nodes {
        dot_node(n, depth + 1, out);
    }
    for sub in &grp.groups {
        dot_group(sub, depth + 1, out);
    }
    out.push_str(&format!("{pad}}}\n"));
}

fn dot_node(n: &Node, depth: usize, out: &mut String) {
    let pad = "  ".repeat(depth);
    let mut label = String::new();
    for (i, l) in n.lines.iter().enumerate() {
        if i == 0 {
            label.push_str(&dot_escape(l));
            label.push_str("\\n");
        } else {
            label.push_str(&dot_escape(l));
            label.push_str("\\l");
        }
    }
    let style = match n.kind {
        NodeKind::Host => "fillcolor=\"#d5d8dc\", penwidth=1.5",
        NodeKind::Guest => "fillcolor=\"#ffffff\"",
        NodeKind::Appliance => "fillcolor=\"#fdebd0\"",
        NodeKind::External => "shape=ellipse, style=filled, fillcolor=\"#fadbd8\"",
        NodeKind::Cluster => "fillcolor=\"#d6eaf8\"",
    };
    out.push_str(&format!("{pad}\"{}\" [label=\"{label}\", {style}];\n", n.id));
}

fn mermaid_text(s: &str) -> String {
    s.replace('"', "#quot;").replace('<', "#lt;").replace('>', "#gt;")
}

/// The topology as a Mermaid flowchart (without the code fence).
pub fn mermaid(model: &Model) -> String {
    let g = build(model);
    let mut out = String::from("flowchart LR\n");
    fn group(grp: &Group, depth: usize, out: &mut String) {
        let pad = "  ".repeat(depth);
        out.push_str(&format!("{pad}subgraph {}[\"{}\"]\n", grp.id, mermaid_text(&grp.label)));
        for n in &grp.nodes {
            node(n, depth + 1, out);
        }
        for sub in &grp.groups {
            group(sub, depth + 1, out);
        }
        out.push_str(&format!("{pad}end\n"));
    }
    fn node(n: &Node, depth: usize, out: &mut String) {
        let pad = "  ".repeat(depth);
        let lines: Vec<String> = n
            .lines
            .iter()
            .enumerate()
            .filter(|(_, l)| !l.is_empty())
            .map(|(i, l)| if i == 0 { format!("<b>{}</b>", mermaid_text(l)) } else { mermaid_text(l) })
            .collect();
        let (open, close) = if n.kind == NodeKind::External { ("([", "])") } else { ("[", "]") };
        out.push_str(&format!("{pad}{}{open}\"{}\"{close}\n", n.id, lines.join("<br/>")));
    }
    for grp in &g.groups {
        group(grp, 1, &mut out);
    }
    for n in &g.loose {
        node(n, 1, &mut out);
    }
    for ((from, to, kind), labels) in &g.edges {
        let label = edge_label(*kind, labels).replace('\n', " ");
        let arrow = match kind {
            EdgeKind::Uses => "-.->",
            EdgeKind::Internet | EdgeKind::Tunnel => "==>",
            EdgeKind::Proxy => "-->",
        };
        if label.is_empty() {
            out.push_str(&format!("  {from} {arrow} {to}\n"));
        } else {
            out.push_str(&format!("  {from} {arrow}|\"{}\"| {to}\n", mermaid_text(&label)));
        }
    }
    out
}

/// The README's topology section.
pub fn write_section(model: &Model, _catalog: &Catalog, options: Options, out: &mut String) {
    out.push_str("## Topology\n\n");
    if options.svg {
        out.push_str(&format!("![Topology]({SVG_FILE})\n\nRendered by Graphviz from [`{DOT_FILE}`]({DOT_FILE}). "));
    } else {
        out.push_str(&format!(
            "The Graphviz source is [`{DOT_FILE}`]({DOT_FILE}); render it with `dot -Tsvg {DOT_FILE} -o {SVG_FILE}` \
             (Debian package `graphviz`). "
        ));
    }
    out.push_str("Red: the way in from the internet; blue: proxy routes; dashed grey: connections from `uses`.\n\n");
    out.push_str("```mermaid\n");
    out.push_str(&mermaid(model));
    out.push_str("```\n\n");
}
