//! Unbound: the internal DNS records as `local-data`, when `dns.server` is an Unbound service,
//! and natively, for every Unbound service, where it listens (its `dns` port) and whom it answers.
//!
//! Natively the file is `/etc/unbound/unbound.conf.d/hearth.conf`, which Debian's `unbound.conf`
//! pulls in with `include-toplevel`; in the catalog image it is `a-records.conf` in the config
//! volume, which the image's `unbound.conf` includes inside its `server:` clause. The file starts
//! with its own `server:` line, valid in both places. The zone is `transparent`: names Hearth
//! does not know still resolve normally (the zone may be a public domain). Natively it also
//! makes Unbound listen on every IPv4 address and answer the homelab's networks.

use std::fmt::Write as _;
use std::net::IpAddr;

use hearth_model::model::Service;
use hearth_spec::ast::Form;

use crate::query::{dirs, dns_records};
use crate::reader::Runner;
use crate::yaml::quoted as q;
use crate::{Context, File, Kind, Output};

pub fn render(cx: &Context, out: &mut Output) {
    let m = cx.model;
    let server = (m.dns.server_app.as_deref() == Some("unbound")).then_some(m.dns.server.as_deref()).flatten();
    for (name, svc) in &m.services {
        if svc.app.as_deref() != Some("unbound") {
            continue;
        }
        let is_server = server == Some(name.as_str());
        // A container resolver that is not the homelab's DNS server needs nothing from Hearth:
        // the image's own unbound.conf listens on its container port, which Docker publishes
        // on the port the spec gives.
        if !is_server && svc.form == Form::Docker {
            continue;
        }
        render_one(cx, name, svc, is_server, out);
    }
}

/// The file of one Unbound service: its listening address and port natively, and the homelab's
/// records when it is the DNS server.
fn render_one(cx: &Context, name: &str, svc: &Service, is_server: bool, out: &mut Output) {
    let m = cx.model;
    let path = if svc.form == Form::Docker {
        format!("{}/a-records.conf", dirs(svc, "config", "/opt/unbound/etc/unbound").0)
    } else {
        "/etc/unbound/unbound.conf.d/hearth.conf".to_string()
    };
    let mut c = if is_server {
        String::from("# Internal DNS records rendered by Hearth from `dns` and the exposed services.\nserver:\n")
    } else {
        format!("# Unbound `{name}`, rendered by Hearth: where it listens and whom it answers.\nserver:\n")
    };
    if svc.form != Form::Docker {
        // Debian's default listens on localhost only (and fails where `::1` is missing): the
        // homelab's resolver answers on every address, to the homelab's networks.
        c.push_str("    interface: 0.0.0.0\n");
        // Debian's default port is 53; a resolver beside another DNS server on its machine (the
        // upstream of AdGuard Home or Pi-hole) listens where the spec's `ports:` put it, which
        // is where the firewall, its clients and `hearth verify` look for it.
        if let Some(port) = svc.ports.iter().find(|p| p.name == "dns").map(|p| p.reachable()).filter(|p| *p != 53) {
            let _ = writeln!(c, "    port: {port}");
        }
        for network in m.networks.values() {
            let _ = writeln!(c, "    access-control: {} allow", network.cidr);
        }
    }
    if is_server {
        let zone = m.dns.zone.trim_end_matches('.');
        if !zone.is_empty() && dns_records(m).into_iter().any(|r| in_zone(&r.name, zone)) {
            let _ = writeln!(c, "    local-zone: {} transparent", q(&format!("{zone}.")));
        }
        for r in dns_records(m) {
            let ty = match r.address {
                IpAddr::V4(_) => "A",
                IpAddr::V6(_) => "AAAA",
            };
            let _ = writeln!(
                c,
                "    local-data: {}",
                q(&format!("{}. 300 IN {ty} {}", r.name.trim_end_matches('.'), r.address))
            );
        }
    }
    let file = Runner::of(cx, name, svc).config(File::new(svc.on.name(), path, Kind::Unbound, c));
    let file = if is_server { file.from("dns") } else { file };
    out.push(file.from(format!("service/{name}")));
}

fn in_zone(name: &str, zone: &str) -> bool {
    name == zone || name.ends_with(&format!(".{zone}"))
}
