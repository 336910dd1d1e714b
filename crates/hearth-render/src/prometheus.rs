//! Prometheus: `prometheus.yml` and the alert rules file, on the machine of
//! `monitoring.prometheus`.
//!
//! The scrape jobs, rules and alert target all come resolved from `Model.monitoring`; this module
//! only prints them. Files go into the service's `config` volume (its host path for a container,
//! `/etc/prometheus` natively), and the paths *inside* the files are the ones the process sees
//! (the volume's target), so the same text works in Docker and natively.
//!
//! Natively, Debian's `prometheus` unit takes its command line from `/etc/default/prometheus`
//! (`ARGS=`): the configuration file, the data folder, the listen port, `monitoring.retention` and,
//! when Alloy agents push with `remote_write`, the receiver flag.
//!
//! Every string that comes from the spec is written as a double-quoted YAML scalar (JSON string
//! syntax, which YAML 1.2 accepts), so names, expressions and `{{ $labels }}` templates never
//! need hand-escaping.

use crate::alerting;
use crate::native;
use crate::query::{address, dirs, http_port, listen_port, service};
use crate::reader::Runner;
use crate::yaml::{Node, quoted as q};
use crate::{Context, File, Kind, Output};

pub fn render(cx: &Context, out: &mut Output) {
    let m = cx.model;
    let Some((name, svc)) = service(m, m.monitoring.prometheus.as_deref()) else { return };
    let machine = svc.on.name();
    let (host_dir, proc_dir) = dirs(svc, "config", "/etc/prometheus");
    let rules_rel = "rules/hearth.yml";
    let mon = &m.monitoring;

    let receiver = mon.agent.as_deref() == Some("alloy");
    let native = native::entry(cx, svc).is_some();
    let mut doc = vec![Node::comment("Prometheus configuration rendered by Hearth from `monitoring`.")];
    if receiver && !native {
        // Receiving remote writes is a command-line flag, not a key of this file.
        doc.push(Node::comment("The alloy agents push metrics with remote_write: start Prometheus with"));
        doc.push(Node::comment("`--web.enable-remote-write-receiver` (a command-line flag, not a key of this file)."));
    }
    let interval = mon.scrape_interval.as_str();
    doc.push((
        "global".into(),
        Node::Map(vec![
            ("scrape_interval".into(), Node::s(interval)),
            ("evaluation_interval".into(), Node::s(interval)),
            ("external_labels".into(), Node::Map(vec![("homelab".into(), Node::s(&m.homelab))])),
        ]),
    ));
    if !mon.rules.is_empty() {
        doc.push(("rule_files".into(), Node::Seq(vec![Node::s(&format!("{proc_dir}/{rules_rel}"))])));
    }
    let alertmanager = service(m, mon.alertmanager.as_deref());
    if let Some((_, am)) = alertmanager {
        let target = Node::s(&format!("{}:{}", address(m, am), http_port(am)));
        let static_configs = Node::Seq(vec![Node::Map(vec![("targets".into(), Node::Flow(vec![target]))])]);
        let alertmanagers = Node::Seq(vec![Node::Map(vec![("static_configs".into(), static_configs)])]);
        doc.push(("alerting".into(), Node::Map(vec![("alertmanagers".into(), alertmanagers)])));
    }
    let runner = Runner::of(cx, name, svc);
    if native {
        let data = native::data_dir(cx, svc).unwrap_or_else(|| "/var/lib/prometheus".to_string());
        let mut args = vec![
            format!("--config.file={proc_dir}/prometheus.yml"),
            // Debian's default layout: the TSDB in `metrics2` under the data folder.
            format!("--storage.tsdb.path={data}/metrics2/"),
            format!("--storage.tsdb.retention.time={}", mon.retention),
            format!("--web.listen-address=:{}", listen_port(svc, &["http"]).unwrap_or(9090)),
        ];
        if receiver {
            args.push("--web.enable-remote-write-receiver".to_string());
        }
        let file = native::args_file(machine, "prometheus", &format!("Prometheus `{name}`"), &args);
        out.push(runner.env(file).from("monitoring").from(format!("service/{name}")));
    }
    let mut file = runner
        .config(File::new(machine, format!("{host_dir}/prometheus.yml"), Kind::Prometheus, String::new()))
        .from("monitoring")
        .from(format!("service/{name}"));
    if let Some((am, _)) = alertmanager {
        file = file.from(format!("service/{am}"));
    }
    let mut jobs = Vec::new();
    for job in &mon.scrape {
        jobs.push(crate::scrape::job(job));
        if let Some(origin) = &job.origin {
            file = file.from(origin.clone());
        }
        if m.services.contains_key(&job.job) {
            file = file.from(format!("service/{}", job.job));
        }
    }
    doc.push(("scrape_configs".into(), Node::Seq(jobs)));
    file.content = Node::Map(doc).to_block(&q);
    out.push(file);

    if let Some(rules) = alerting::rules(m) {
        let mut r = String::from("# Alert rules rendered by Hearth from `monitoring.alerts.rules`.\n");
        r.push_str(&rules.to_block(&q));
        let file = File::new(machine, format!("{host_dir}/{rules_rel}"), Kind::PrometheusRules, r);
        out.push(runner.config(file).from("monitoring").from(format!("service/{name}")));
    }
}
