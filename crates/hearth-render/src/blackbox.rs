//! The Blackbox exporter's probe modules, for every `blackbox-exporter` service.
//!
//! Prometheus's `blackbox-https` job (`prometheus.rs`) asks it for `http_2xx` probes of every
//! route, which is where `probe_ssl_earliest_cert_expiry` (the certificate-expiry rule) comes
//! from; the `probe-<name>` jobs of `monitoring.probes` ask for `http_2xx`, `tcp_connect` or
//! `icmp`. The file is needed in a container as much as natively: the service's `config` volume
//! is mounted over the image's own `/etc/blackbox_exporter`, so without it the exporter has no
//! `config.yml` and does not start. Natively Debian's package reads `/etc/prometheus/blackbox.yml`
//! (the catalog's `native.config`).

use hearth_spec::ast::Form;

use crate::query::dirs;
use crate::reader::Runner;
use crate::{Context, File, Kind, Output};

/// The module `derive/monitoring.rs` names in the routes' probe job, and in HTTP probes.
const MODULES: &str = "# Blackbox exporter probe modules, rendered by Hearth from `monitoring`.\n\
modules:\n  \
http_2xx:\n    \
prober: http\n    \
timeout: 10s\n    \
http:\n      \
preferred_ip_protocol: ip4\n      \
follow_redirects: true\n";

/// The modules of `monitoring.probes`' TCP and ICMP checks, written when a probe job uses them.
/// ICMP needs no capability: the exporter falls back to the unprivileged ping sockets that
/// Docker's containers and systemd's default `net.ipv4.ping_group_range` allow.
const MORE: &[(&str, &str)] = &[
    ("tcp_connect", "  tcp_connect:\n    prober: tcp\n    timeout: 5s\n    tcp:\n      preferred_ip_protocol: ip4\n"),
    ("icmp", "  icmp:\n    prober: icmp\n    timeout: 5s\n    icmp:\n      preferred_ip_protocol: ip4\n"),
];

pub fn render(cx: &Context, out: &mut Output) {
    let m = cx.model;
    for (name, svc) in m.services.iter().filter(|(_, s)| s.app.as_deref() == Some("blackbox-exporter")) {
        if m.is_nixos(svc.on.name()) {
            // The flake configures the exporter's options itself.
            continue;
        }
        let path = match svc.form {
            Form::Docker => format!("{}/config.yml", dirs(svc, "config", "/etc/blackbox_exporter").0),
            _ => cx
                .catalog
                .get("blackbox-exporter")
                .and_then(|a| a.native.as_ref())
                .and_then(|n| n.config.clone())
                .unwrap_or_else(|| "/etc/prometheus/blackbox.yml".into()),
        };
        let mut modules = MODULES.to_string();
        for (module, text) in MORE {
            if m.monitoring.scrape.iter().any(|j| j.probe.as_ref().is_some_and(|p| p.module == *module)) {
                modules.push_str(text);
            }
        }
        let file = File::new(svc.on.name(), path, Kind::Blackbox, modules);
        out.push(Runner::of(cx, name, svc).config(file).from("monitoring").from(format!("service/{name}")));
    }
}
