//! AdGuard Home: the internal DNS records as DNS rewrites, when `dns.server` is an AdGuard Home
//! service, and its upstream resolvers when it `uses` one (Unbound beside it).
//!
//! AdGuard Home owns `AdGuardHome.yaml` and rewrites it on every settings change (users, filter
//! lists, statistics all live there), so Hearth does not write that file. It renders a fragment
//! in the same schema holding only `filtering.rewrites`, beside it (the `conf` volume of the
//! container, the install folder natively); applying it merges that one key into the live file
//! (or posts each entry to `/control/rewrite/add`). Entries are `{domain, answer}`, the format of
//! the catalog's v0.107 line. A resolver the service `uses` (an app providing `dns`) becomes
//! `dns.upstream_dns`, `IP:PORT` as AdGuard Home writes a plain-DNS upstream on another port, so
//! every query it does not answer itself goes there and nowhere else.

use std::net::SocketAddr;

use hearth_spec::ast::Form;

use crate::query::{dirs, dns_records, service};
use crate::yaml::{Node, quoted};
use crate::{Context, File, Kind, Output};

pub fn render(cx: &Context, out: &mut Output) {
    let m = cx.model;
    if m.dns.server_app.as_deref() != Some("adguard-home") {
        return;
    }
    let Some((name, svc)) = service(m, m.dns.server.as_deref()) else { return };
    let dir = if svc.form == Form::Docker {
        dirs(svc, "conf", "/opt/adguardhome/conf").0
    } else {
        // The catalog's native install keeps AdGuardHome.yaml in its install folder.
        svc.app
            .as_deref()
            .and_then(|a| cx.catalog.get(a))
            .and_then(|a| a.native.as_ref())
            .and_then(|n| n.config.as_deref())
            .and_then(|c| c.rsplit_once('/'))
            .map_or_else(|| "/opt/AdGuardHome".to_string(), |(d, _)| d.to_string())
    };
    let rewrites = dns_records(m)
        .into_iter()
        .map(|r| {
            Node::Map(vec![("domain".into(), Node::s(&r.name)), ("answer".into(), Node::s(&r.address.to_string()))])
        })
        .collect();
    let upstreams: Vec<Node> = svc
        .uses
        .iter()
        .filter(|u| u.kind == "dns")
        .filter_map(|u| m.services.get(&u.service))
        .filter_map(|t| {
            let port = t.ports.iter().find(|p| p.name == "dns").or_else(|| t.ports.first())?.reachable();
            Some(Node::s(&SocketAddr::new(t.address?, port).to_string()))
        })
        .collect();
    let mut doc = vec![
        Node::comment("DNS rewrites rendered by Hearth from `dns` and the exposed services."),
        Node::comment(if upstreams.is_empty() {
            "A fragment of AdGuardHome.yaml: merge `filtering.rewrites` into the live file."
        } else {
            "A fragment of AdGuardHome.yaml: merge `dns.upstream_dns` and `filtering.rewrites` into the live file."
        }),
    ];
    if !upstreams.is_empty() {
        doc.push(("dns".into(), Node::Map(vec![("upstream_dns".into(), Node::Seq(upstreams))])));
    }
    doc.push(("filtering".into(), Node::Map(vec![("rewrites".into(), Node::Seq(rewrites))])));
    let doc = Node::Map(doc);
    let c = doc.to_block(&quoted);
    out.push(
        File::new(svc.on.name(), format!("{dir}/AdGuardHome.hearth.yaml"), Kind::AdguardHome, c)
            .from("dns")
            .from(format!("service/{name}")),
    );
}
