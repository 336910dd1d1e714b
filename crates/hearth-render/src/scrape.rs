//! One Prometheus scrape job (`scrape_configs` entry) as data, which `prometheus` writes into
//! `prometheus.yml` and the NixOS flake into `services.prometheus.scrapeConfigs`, so both get the
//! same job: its own interval and scheme when `monitoring.scrape` gives them, and a probe job's
//! module and relabelling.

use hearth_model::model::ScrapeJob;

use crate::yaml::Node;

/// The `scrape_configs` entry of `job`.
pub(crate) fn job(job: &ScrapeJob) -> Node {
    let targets = Node::Flow(job.targets.iter().map(|t| Node::s(t)).collect());
    let mut entry = vec![("job_name".into(), Node::s(&job.job))];
    if let Some(interval) = &job.interval {
        entry.push(("scrape_interval".into(), Node::s(interval)));
    }
    if let Some(scheme) = &job.scheme {
        entry.push(("scheme".into(), Node::s(scheme)));
    }
    entry.push(("metrics_path".into(), Node::s(&job.path)));
    if let Some(probe) = &job.probe {
        entry.push(("params".into(), Node::Map(vec![("module".into(), Node::Flow(vec![Node::s(&probe.module)]))])));
    }
    entry.push(("static_configs".into(), Node::Seq(vec![Node::Map(vec![("targets".into(), targets)])])));
    if let Some(probe) = &job.probe {
        // The targets are what to probe: each goes to the exporter as `?target=` and stays the
        // series' `instance`; the exporter is what Prometheus really connects to.
        let relabel =
            |pairs: Vec<(&str, Node)>| Node::Map(pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect());
        entry.push((
            "relabel_configs".into(),
            Node::Seq(vec![
                relabel(vec![
                    ("source_labels", Node::Flow(vec![Node::s("__address__")])),
                    ("target_label", Node::s("__param_target")),
                ]),
                relabel(vec![
                    ("source_labels", Node::Flow(vec![Node::s("__param_target")])),
                    ("target_label", Node::s("instance")),
                ]),
                relabel(vec![("target_label", Node::s("__address__")), ("replacement", Node::s(&probe.exporter))]),
            ]),
        ));
    }
    Node::Map(entry)
}
