//! dnsmasq: one `address=/NAME/IP` line per internal DNS record, when `dns.server` is a dnsmasq
//! or a Pi-hole service.
//!
//! The file is a drop-in (`/etc/dnsmasq.d/hearth.conf`, or the container's config volume): the
//! Debian package and the catalog image both read every `*.conf` in that folder, so the
//! operator's own main configuration (upstreams, DHCP) stays theirs. No `local=` line is written:
//! the zone may be a public domain whose other names must still resolve upstream. Pi-hole 5's
//! FTL is dnsmasq and reads the same drop-ins from its `/etc/dnsmasq.d` volume, beside its own
//! `01-pihole.conf`, so its records are this file too.

use std::fmt::Write as _;

use crate::query::{dirs, dns_records, service};
use crate::reader::Runner;
use crate::{Context, File, Kind, Output};

pub fn render(cx: &Context, out: &mut Output) {
    let m = cx.model;
    let volume = match m.dns.server_app.as_deref() {
        Some("dnsmasq") => "config",
        Some("pihole") => "dnsmasq",
        _ => return,
    };
    let Some((name, svc)) = service(m, m.dns.server.as_deref()) else { return };
    let (dir, _) = dirs(svc, volume, "/etc/dnsmasq.d");
    let mut c = String::from("# Internal DNS records rendered by Hearth from `dns` and the exposed services.\n");
    for r in dns_records(m) {
        let _ = writeln!(c, "address=/{}/{}", r.name, r.address);
    }
    let file = File::new(svc.on.name(), format!("{dir}/hearth.conf"), Kind::Dnsmasq, c);
    out.push(Runner::of(cx, name, svc).config(file).from("dns").from(format!("service/{name}")));
}
