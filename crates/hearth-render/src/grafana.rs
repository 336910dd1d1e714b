//! Grafana provisioning: the Prometheus and Loki data sources, a file dashboard provider, and one
//! small dashboard per name in `monitoring.dashboards`, on the machine of `monitoring.grafana`.
//!
//! Data source URLs are the services' reachable addresses and ports. Data sources get fixed uids
//! (`hearth-prometheus`, `hearth-loki`) so the dashboards can name them. A dashboard's uid is its
//! name when that fits Grafana's 40-character limit, else a prefix plus a hash of the name:
//! deterministic, so re-provisioning updates the same dashboard instead of adding one. Every
//! dashboard shows the node-exporter basics (CPU, memory, disk, network, targets up); they are a
//! starting point the operator can extend in Grafana (UI edits are allowed but not saved back).

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::query::{address, dirs, http_port, service};
use crate::reader::Runner;
use crate::yaml::{Node, quoted};
use crate::{Context, File, Kind, Output};

const PROMETHEUS_UID: &str = "hearth-prometheus";
const LOKI_UID: &str = "hearth-loki";

pub fn render(cx: &Context, out: &mut Output) {
    let m = cx.model;
    let mon = &m.monitoring;
    let Some((name, svc)) = service(m, mon.grafana.as_deref()) else { return };
    let machine = svc.on.name();
    let (prov_dir, _) = dirs(svc, "provisioning", "/etc/grafana/provisioning");
    let (data_host, data_proc) = dirs(svc, "data", "/var/lib/grafana");
    let src = format!("service/{name}");
    let runner = Runner::of(cx, name, svc);

    let prometheus = service(m, mon.prometheus.as_deref());
    let loki = service(m, mon.loki.as_deref());
    let mut ds_file =
        runner.config(File::new(machine, "", Kind::GrafanaProvisioning, "")).from("monitoring").from(src.as_str());
    let mut sources = Vec::new();
    for (kind, title, uid, found) in
        [("prometheus", "Prometheus", PROMETHEUS_UID, prometheus), ("loki", "Loki", LOKI_UID, loki)]
    {
        let Some((sname, s)) = found else { continue };
        let url = format!("http://{}:{}", address(m, s), http_port(s));
        sources.push(Node::Map(vec![
            ("name".into(), Node::s(title)),
            ("uid".into(), Node::s(uid)),
            ("type".into(), Node::Plain(kind.into())),
            ("access".into(), Node::Plain("proxy".into())),
            ("url".into(), Node::s(&url)),
            ("isDefault".into(), Node::Bool(kind == "prometheus")),
            ("editable".into(), Node::Bool(false)),
        ]));
        ds_file = ds_file.from(format!("service/{sname}"));
    }
    ds_file.path = format!("{prov_dir}/datasources/hearth.yaml");
    ds_file.content = Node::Map(vec![
        Node::comment("Data sources rendered by Hearth from `monitoring`."),
        ("apiVersion".into(), Node::Int(1)),
        ("datasources".into(), Node::Seq(sources)),
    ])
    .to_block(&quoted);
    out.push(ds_file);

    let dash_dir = "dashboards";
    let provider = Node::Map(vec![
        Node::comment("Dashboard provider rendered by Hearth from `monitoring.dashboards`."),
        ("apiVersion".into(), Node::Int(1)),
        (
            "providers".into(),
            Node::Seq(vec![Node::Map(vec![
                ("name".into(), Node::s("hearth")),
                ("orgId".into(), Node::Int(1)),
                ("folder".into(), Node::s("Hearth")),
                ("type".into(), Node::Plain("file".into())),
                ("disableDeletion".into(), Node::Bool(true)),
                ("allowUiUpdates".into(), Node::Bool(true)),
                ("updateIntervalSeconds".into(), Node::Int(60)),
                ("options".into(), Node::Map(vec![("path".into(), Node::s(&format!("{data_proc}/{dash_dir}")))])),
            ])]),
        ),
    ])
    .to_block(&quoted);
    let file = File::new(machine, format!("{prov_dir}/dashboards/hearth.yaml"), Kind::GrafanaProvisioning, provider);
    out.push(runner.config(file).from("monitoring").from(src.as_str()));

    for d in &mon.dashboards {
        let text = serde_json::to_string_pretty(&dashboard(d)).unwrap_or_default() + "\n";
        // The provider reads the folder again every minute: no restart.
        let file = File::new(machine, format!("{data_host}/{dash_dir}/{d}.json"), Kind::GrafanaProvisioning, text);
        out.push(runner.owns(file).from("monitoring").from(src.as_str()));
    }
}

/// The dashboard uid for a name: Grafana allows at most 40 characters.
pub fn uid(name: &str) -> String {
    if name.len() <= 40 && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
        return name.to_string();
    }
    let digest = Sha256::digest(name.as_bytes());
    let hash: String = digest.iter().take(4).map(|b| format!("{b:02x}")).collect();
    let prefix: String =
        name.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_').take(31).collect();
    format!("{prefix}-{hash}")
}

/// `infrastructure-overview` -> `Infrastructure Overview`.
fn title(name: &str) -> String {
    name.split(['-', '_'])
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut cs = w.chars();
            cs.next().map(|c| c.to_uppercase().chain(cs).collect::<String>()).unwrap_or_default()
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn dashboard(name: &str) -> Value {
    let ds = json!({ "type": "prometheus", "uid": PROMETHEUS_UID });
    let panel = |id: u32, x: u32, y: u32, title: &str, unit: &str, expr: &str| -> Value {
        json!({
            "id": id,
            "type": "timeseries",
            "title": title,
            "datasource": ds,
            "gridPos": { "h": 8, "w": 12, "x": x, "y": y },
            "fieldConfig": { "defaults": { "unit": unit }, "overrides": [] },
            "targets": [{ "refId": "A", "datasource": ds, "expr": expr, "legendFormat": "{{instance}}" }]
        })
    };
    json!({
        "uid": uid(name),
        "title": title(name),
        "tags": ["hearth"],
        "timezone": "browser",
        "schemaVersion": 39,
        "version": 1,
        "editable": true,
        "refresh": "1m",
        "time": { "from": "now-6h", "to": "now" },
        "panels": [
            {
                "id": 1,
                "type": "stat",
                "title": "Targets up",
                "datasource": ds,
                "gridPos": { "h": 4, "w": 24, "x": 0, "y": 0 },
                "targets": [{ "refId": "A", "datasource": ds, "expr": "sum(up)" }]
            },
            panel(2, 0, 4, "CPU usage", "percent",
                "100 - (avg by (instance) (rate(node_cpu_seconds_total{mode=\"idle\"}[5m])) * 100)"),
            panel(3, 12, 4, "Memory usage", "percent",
                "(1 - node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes) * 100"),
            panel(4, 0, 12, "Root disk usage", "percent",
                "(1 - node_filesystem_avail_bytes{mountpoint=\"/\"} / node_filesystem_size_bytes{mountpoint=\"/\"}) * 100"),
            panel(5, 12, 12, "Network received", "Bps",
                "sum by (instance) (rate(node_network_receive_bytes_total{device!=\"lo\"}[5m]))"),
        ]
    })
}
