//! The operator's own scrape jobs and probes (`monitoring.scrape`, `monitoring.probes`): every
//! target names something Prometheus or the Blackbox exporter can connect to (E851, E852), every
//! job name is one job's (E853), and probes have a Blackbox exporter to run them (E854). Whether
//! the firewall lets each connection through is `flows`' (E601, E824): the targets on the
//! spec's machines are flows like any scrape.

use std::collections::BTreeSet;

use hearth_spec::ast::{Monitoring, ProbeEntry};
use hearth_spec::{Code, Diagnostic, Edit, Sp, Spec, suggest};

use crate::derive::flows::endpoint;
use crate::derive::targets::{self, Host, ProbeKind};
use crate::model::Model;

pub(super) fn scrape(spec: &Spec, model: &Model, out: &mut Vec<Diagnostic>) {
    let Some(m) = &spec.monitoring else { return };
    // The jobs Hearth derives hold their names first; the spec's entries then in order.
    let mut names: BTreeSet<String> =
        model.monitoring.scrape.iter().filter(|j| j.origin.is_none()).map(|j| j.job.clone()).collect();
    for e in &m.scrape {
        if !names.insert(e.job.value.clone()) {
            out.push(duplicate(&e.job, &e.job.value));
        }
        if e.targets.is_empty() {
            out.push(
                Diagnostic::new(
                    Code::ScrapeTargetInvalid,
                    e.job.span,
                    format!("scrape job `{}` has no targets", e.job.value),
                )
                .help("list its endpoints under `targets:` as `HOST:PORT`, or remove the job"),
            );
        }
        for t in &e.targets {
            host_port(model, t, "scrape target", out);
        }
    }
    for p in &m.probes {
        if !names.insert(targets::probe_job(&p.name.value)) {
            out.push(duplicate(&p.name, &targets::probe_job(&p.name.value)));
        }
        probe(model, p, out);
    }
    blackbox(m, model, out);
}

fn duplicate(at: &Sp<String>, job: &str) -> Diagnostic {
    Diagnostic::new(Code::ScrapeJobDuplicate, at.span, format!("Prometheus already has a job `{job}`"))
        .label("a second job of this name")
        .help("give it a name no other job has: two jobs of one name make Prometheus refuse its configuration")
}

/// A `HOST:PORT` target: a port, and a host that is an address, a DNS name or a machine or
/// service of the spec with an address.
fn host_port(model: &Model, t: &Sp<String>, what: &str, out: &mut Vec<Diagnostic>) {
    let Some((host, _)) = endpoint(&t.value) else {
        out.push(
            Diagnostic::new(Code::ScrapeTargetInvalid, t.span, format!("{what} `{}` has no port", t.value))
                .label("`HOST:PORT` expected")
                .help(format!("write the port it listens on after the host: `{}:PORT`", t.value)),
        );
        return;
    };
    named_host(model, t, &host, what, out);
}

/// `host` of the target at `t`: E851 for a bare name that names nothing, or something with no
/// address to connect to.
fn named_host(model: &Model, t: &Sp<String>, host: &str, what: &str, out: &mut Vec<Diagnostic>) {
    match targets::host(model, host) {
        Host::Spec(_) | Host::Outside(_) => {}
        Host::Unknown => {
            let candidates: Vec<&str> = model
                .guests
                .keys()
                .chain(model.hosts.keys())
                .chain(model.services.keys())
                .map(String::as_str)
                .collect();
            let help = suggest::help_for(host, candidates.iter().copied(), "machines and services").map_or_else(
                || "name a machine or service of the spec, or write an address or a full DNS name".to_string(),
                |h| format!("{h} (or write an address or a full DNS name)"),
            );
            let mut d = Diagnostic::new(
                Code::ScrapeTargetUnknown,
                t.span,
                format!("{what} `{}` names no machine or service of the spec", t.value),
            )
            .label("neither a spec name, an address nor a DNS name")
            .help(help);
            if let Some(best) = suggest::did_you_mean(host, candidates.iter().copied()) {
                d = d.suggest_part(t.span, host, best);
            }
            out.push(d);
        }
        Host::Unplaced => out.push(
            Diagnostic::new(Code::ScrapeTargetUnknown, t.span, format!("{what} `{}`: `{host}` has no address", t.value))
                .label("nothing to connect to")
                .help(format!(
                    "give `{host}` an `address:`, or write the address of what serves it (a cluster service has none of its own)"
                )),
        ),
    }
}

/// A probe names exactly one check, with a target of its kind.
fn probe(model: &Model, p: &ProbeEntry, out: &mut Vec<Diagnostic>) {
    let kinds = targets::probe_kinds(p);
    let [(kind, value)] = kinds[..] else {
        let given: Vec<String> = kinds.iter().map(|(k, _)| format!("`{}`", k.key())).collect();
        let what = if given.is_empty() { "none".to_string() } else { given.join(" and ") };
        out.push(
            Diagnostic::new(
                Code::ScrapeTargetInvalid,
                p.name.span,
                format!("probe `{}` gives {what}: a probe makes exactly one check", p.name.value),
            )
            .help("give it one of `http: URL`, `tcp: HOST:PORT` or `icmp: HOST`, and one probe per check"),
        );
        return;
    };
    match kind {
        ProbeKind::Http if !(value.value.starts_with("http://") || value.value.starts_with("https://")) => {
            let d = Diagnostic::new(
                Code::ScrapeTargetInvalid,
                value.span,
                format!("probe `{}`: `{}` is no URL", p.name.value, value.value),
            )
            .label("`http://` or `https://` expected")
            .help(format!("write `https://{}` (or `http://` for a plain-HTTP site)", value.value));
            out.push(d.suggest_part(value.span, value.value.as_str(), format!("https://{}", value.value)));
        }
        ProbeKind::Http => {}
        ProbeKind::Tcp => host_port(model, value, "probe target", out),
        ProbeKind::Icmp => named_host(model, value, &value.value, "probe target", out),
    }
}

/// Probes are run by the Blackbox exporter: `blackbox` under `exporters` (beside Prometheus) or
/// a `blackbox-exporter` service.
fn blackbox(m: &Monitoring, model: &Model, out: &mut Vec<Diagnostic>) {
    let Some(first) = m.probes.first() else { return };
    if model.services.values().any(|s| s.app.as_deref() == Some("blackbox-exporter")) {
        return;
    }
    let span = m.spans.key("probes").unwrap_or(first.name.span);
    let d = Diagnostic::new(Code::ProbesWithoutBlackbox, span, "no Blackbox exporter runs these probes")
        .label("probes need the Blackbox exporter");
    let d = if m.exporters.iter().any(|e| e.value == "blackbox") {
        d.help("the `blackbox` exporter runs beside Prometheus: name its service under `monitoring.prometheus`")
    } else {
        let edit = match m.spans.value("exporters") {
            Some(list) => Edit::append(list, "blackbox"),
            None => Edit::append(m.span, "exporters: [blackbox]"),
        };
        d.help("add `blackbox` to `monitoring.exporters`").suggest_edit(edit)
    };
    out.push(d);
}
