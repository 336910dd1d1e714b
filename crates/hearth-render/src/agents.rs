//! The agent on every managed machine (guests with `managed: true`, Proxmox nodes and hosts with a
//! runtime): a Grafana Alloy or Promtail configuration, per `monitoring.agent`.
//!
//! Alloy (`/etc/alloy/config.alloy`) collects host metrics with `prometheus.exporter.unix` and
//! pushes them with `prometheus.remote_write` to Prometheus (which needs its remote-write
//! receiver flag), and ships the systemd journal, plus container logs found by Docker discovery
//! on Docker machines, to Loki. Promtail (`/etc/promtail/config.yml`) ships the same logs; its
//! metrics side is node-exporter, scraped by Prometheus.
//!
//! The node exporter (Debian's `prometheus-node-exporter`, on every machine the model lists in
//! `monitoring.node_exporter`) gets its `/etc/default/prometheus-node-exporter`: its arguments
//! name the textfile folder the backup jobs write to, and the file restarts the unit on change,
//! so a deploy waits for the exporter Prometheus scrapes to be active.
//!
//! Every stream and series carries a `machine` label with the spec's machine name, so logs and
//! metrics line up in Grafana whatever the hostnames are. A part whose destination is not in the
//! spec (no Loki, or no Prometheus) is left out rather than pointed nowhere.

use std::fmt::Write as _;

use hearth_model::model::TEXTFILE_DIR;

use crate::query::{address, http_port, service};
use crate::yaml::quoted as q;
use crate::{Activation, Context, File, Kind, Output};

/// The node exporter's environment file, read by its unit (`EnvironmentFile=`).
pub const NODE_EXPORTER_DEFAULTS: &str = "/etc/default/prometheus-node-exporter";

pub fn render(cx: &Context, out: &mut Output) {
    node_exporter(cx, out);
    let m = cx.model;
    let mon = &m.monitoring;
    let prometheus = service(m, mon.prometheus.as_deref())
        .map(|(n, s)| (n, format!("http://{}:{}/api/v1/write", address(m, s), http_port(s))));
    let loki = service(m, mon.loki.as_deref())
        .map(|(n, s)| (n, format!("http://{}:{}/loki/api/v1/push", address(m, s), http_port(s))));

    // (machine, entity key, runs docker)
    let mut machines: Vec<(&str, String, bool)> = m
        .agent_machines()
        .into_iter()
        .map(|(name, docker)| {
            let entity = if m.guests.contains_key(name) { format!("guest/{name}") } else { format!("host/{name}") };
            (name, entity, docker)
        })
        .collect();
    machines.sort();

    for (machine, entity, docker) in machines {
        let (app, path, kind, content) = match mon.agent.as_deref() {
            Some("alloy") if prometheus.is_some() || loki.is_some() => (
                "alloy",
                "/etc/alloy/config.alloy",
                Kind::Alloy,
                alloy(
                    machine,
                    docker,
                    prometheus.as_ref().map(|p| p.1.as_str()),
                    loki.as_ref().map(|l| l.1.as_str()),
                    &mon.scrape_interval,
                ),
            ),
            Some("promtail") => match &loki {
                Some((_, url)) => {
                    ("promtail", "/etc/promtail/config.yml", Kind::Promtail, promtail(machine, docker, url))
                }
                None => continue,
            },
            _ => continue,
        };
        // The agent runs natively on every machine, from its package (packages.rs lists it).
        let mut file = File::new(machine, path, kind, content).from("monitoring").from(entity);
        if let Some(unit) = cx.catalog.get(app).and_then(|a| a.native.as_ref()).and_then(|n| n.unit.as_ref()) {
            file = file.activate(Activation::Restart { unit: unit.clone() });
        }
        for (n, _) in [&prometheus, &loki].into_iter().flatten() {
            file = file.from(format!("service/{n}"));
        }
        out.push(file);
    }
}

fn alloy(machine: &str, docker: bool, prometheus: Option<&str>, loki: Option<&str>, interval: &str) -> String {
    let mut c = format!("// Grafana Alloy configuration for `{machine}`, rendered by Hearth from `monitoring`.\n");
    let m = q(machine);
    if let Some(url) = prometheus {
        let _ = write!(
            c,
            "\n// Host metrics, pushed to Prometheus (started with `--web.enable-remote-write-receiver`).\n\
prometheus.exporter.unix \"host\" {{\n  // The backup jobs' last-success times (the backup-stale rule).\n  textfile {{\n    directory = {}\n  }}\n}}\n\n\
prometheus.scrape \"host\" {{\n  targets         = prometheus.exporter.unix.host.targets\n  \
scrape_interval = {}\n  forward_to      = [prometheus.remote_write.hearth.receiver]\n}}\n\n\
prometheus.remote_write \"hearth\" {{\n  endpoint {{\n    url = {}\n  }}\n  external_labels = {{ machine = {m} }}\n}}\n",
            q(TEXTFILE_DIR),
            q(interval),
            q(url),
        );
    }
    if let Some(url) = loki {
        let _ = write!(
            c,
            "\n// The systemd journal, labelled with its unit.\n\
loki.relabel \"journal\" {{\n  forward_to = []\n  rule {{\n    source_labels = [\"__journal__systemd_unit\"]\n    \
target_label  = \"unit\"\n  }}\n}}\n\n\
loki.source.journal \"journal\" {{\n  forward_to    = [loki.write.hearth.receiver]\n  \
relabel_rules = loki.relabel.journal.rules\n  labels        = {{ job = \"systemd-journal\", machine = {m} }}\n}}\n"
        );
        if docker {
            let _ = write!(
                c,
                "\n// Container logs, found through the Docker socket.\n\
discovery.docker \"containers\" {{\n  host = \"unix:///var/run/docker.sock\"\n}}\n\n\
discovery.relabel \"containers\" {{\n  targets = []\n  rule {{\n    source_labels = [\"__meta_docker_container_name\"]\n    \
regex         = \"/(.*)\"\n    target_label  = \"container\"\n  }}\n}}\n\n\
loki.source.docker \"containers\" {{\n  host          = \"unix:///var/run/docker.sock\"\n  \
targets       = discovery.docker.containers.targets\n  relabel_rules = discovery.relabel.containers.rules\n  \
labels        = {{ job = \"docker\", machine = {m} }}\n  forward_to    = [loki.write.hearth.receiver]\n}}\n"
            );
        }
        let _ = write!(c, "\nloki.write \"hearth\" {{\n  endpoint {{\n    url = {}\n  }}\n}}\n", q(url));
    }
    c
}

fn promtail(machine: &str, docker: bool, loki: &str) -> String {
    let m = q(machine);
    let mut c = format!(
        "# Promtail configuration for `{machine}`, rendered by Hearth from `monitoring`.\n\
server:\n  http_listen_port: 9080\n  grpc_listen_port: 0\n\
positions:\n  filename: /var/lib/promtail/positions.yaml\n\
clients:\n  - url: {}\n\
scrape_configs:\n  \
- job_name: journal\n    journal:\n      max_age: 12h\n      labels:\n        job: systemd-journal\n        machine: {m}\n    \
relabel_configs:\n      - source_labels: [\"__journal__systemd_unit\"]\n        target_label: unit\n",
        q(loki)
    );
    if docker {
        let _ = write!(
            c,
            "  - job_name: docker\n    docker_sd_configs:\n      - host: unix:///var/run/docker.sock\n        refresh_interval: 15s\n    \
relabel_configs:\n      - source_labels: [\"__meta_docker_container_name\"]\n        regex: \"/(.*)\"\n        target_label: container\n      \
- target_label: job\n        replacement: docker\n      - target_label: machine\n        replacement: {m}\n"
        );
    }
    c
}

fn node_exporter(cx: &Context, out: &mut Output) {
    let m = cx.model;
    let unit = cx.catalog.get("node-exporter").and_then(|a| a.native.as_ref()).and_then(|n| n.unit.clone());
    for machine in m.monitoring.node_exporter.iter().filter(|n| !m.is_nixos(n)) {
        let content = format!(
            "# Rendered by Hearth from `monitoring`: the arguments of prometheus-node-exporter.service.\n\
             # The textfile collector reads the backup jobs' last-success times (the backup-stale rule).\n\
             ARGS=\"--collector.textfile.directory={TEXTFILE_DIR}\"\n"
        );
        let entity = if m.hosts.contains_key(machine) { format!("host/{machine}") } else { format!("guest/{machine}") };
        let mut file =
            File::new(machine, NODE_EXPORTER_DEFAULTS, Kind::NodeExporter, content).from("monitoring").from(entity);
        if let Some(unit) = &unit {
            file = file.activate(Activation::Restart { unit: unit.clone() });
        }
        out.push(file);
    }
}
