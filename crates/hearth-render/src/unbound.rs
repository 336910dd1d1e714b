//! Unbound: the internal DNS records as `local-data`, when `dns.server` is an Unbound service.
//!
//! Natively the file is `/etc/unbound/unbound.conf.d/hearth.conf`, which Debian's `unbound.conf`
//! pulls in with `include-toplevel`; in the catalog image it is `a-records.conf` in the config
//! volume, which the image's `unbound.conf` includes inside its `server:` clause. The file starts
//! with its own `server:` line, valid in both places. The zone is `transparent`: names Hearth
//! does not know still resolve normally (the zone may be a public domain). Natively it also
//! makes Unbound listen on every IPv4 address and answer the homelab's networks.

use std::fmt::Write as _;
use std::net::IpAddr;

use hearth_spec::ast::Form;

use crate::query::{dirs, dns_records, service};
use crate::reader::Runner;
use crate::yaml::quoted as q;
use crate::{Context, File, Kind, Output};

pub fn render(cx: &Context, out: &mut Output) {
    let m = cx.model;
    if m.dns.server_app.as_deref() != Some("unbound") {
        return;
    }
    let Some((name, svc)) = service(m, m.dns.server.as_deref()) else { return };
    let path = if svc.form == Form::Docker {
        format!("{}/a-records.conf", dirs(svc, "config", "/opt/unbound/etc/unbound").0)
    } else {
        "/etc/unbound/unbound.conf.d/hearth.conf".to_string()
    };
    let mut c =
        String::from("# Internal DNS records rendered by Hearth from `dns` and the exposed services.\nserver:\n");
    if svc.form != Form::Docker {
        // Debian's default listens on localhost only (and fails where `::1` is missing): the
        // homelab's resolver answers on every address, to the homelab's networks.
        c.push_str("    interface: 0.0.0.0\n");
        for network in m.networks.values() {
            let _ = writeln!(c, "    access-control: {} allow", network.cidr);
        }
    }
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
    let file = File::new(svc.on.name(), path, Kind::Unbound, c);
    out.push(Runner::of(cx, name, svc).config(file).from("dns").from(format!("service/{name}")));
}

fn in_zone(name: &str, zone: &str) -> bool {
    name == zone || name.ends_with(&format!(".{zone}"))
}
