//! Services on clusters: `nodes:` names members of the service's own cluster and means nothing
//! elsewhere (E884); a pod with `hostPath` volumes runs on the cluster's first server, where
//! those folders are, so its `nodes:` must include that server (E885); `schedule:` makes a job,
//! a CronJob that only a cluster runs, with nothing to route to or connect to between its runs
//! (E883).

use hearth_spec::ast;
use hearth_spec::decode::Entry;
use hearth_spec::{Code, Diagnostic, Edit, Span, Spec, suggest};

use crate::model::{Model, Placement, Service};

pub(super) fn clusters(spec: &Spec, model: &Model, out: &mut Vec<Diagnostic>) {
    for e in &spec.services.entries {
        let Some(s) = model.services.get(&e.name) else { continue };
        nodes(e, s, model, out);
        job(e, s, out);
    }
    // A consumer of a job would find nothing listening between its runs.
    for e in &spec.services.entries {
        for u in &e.value.uses {
            let Some(target) = model.services.get(&u.service.value) else { continue };
            let Some(schedule) = &target.schedule else { continue };
            out.push(
                Diagnostic::new(
                    Code::JobUnfit,
                    u.service.span,
                    format!("`{}` uses `{}`, a job that runs only at `{schedule}`", e.name, u.service.value),
                )
                .label("nothing listens between its runs")
                .help(format!(
                    "remove `{}` from `uses:`, or remove `schedule:` from `{}` to run it all the time",
                    u.service.value, u.service.value
                )),
            );
        }
    }
}

/// The span of a whole `key: value` field, for removing it.
fn field(e: &Entry<ast::Service>, key: &str, value: Span) -> Span {
    e.value.spans.key(key).map_or(value, |k| k.to(value))
}

fn nodes(e: &Entry<ast::Service>, s: &Service, model: &Model, out: &mut Vec<Diagnostic>) {
    let spec_nodes = &e.value.nodes;
    let Some(list) = e.value.spans.value("nodes").filter(|_| !spec_nodes.is_empty()) else { return };
    let Placement::Cluster(cluster) = &s.on else {
        out.push(
            Diagnostic::new(
                Code::NodeNotInCluster,
                list,
                format!("`nodes:` places pods on a cluster's nodes, but `{}` runs on `{}`", e.name, s.on.name()),
            )
            .label("no cluster to place it in")
            .help("remove `nodes:`")
            .suggest_removal(field(e, "nodes", list)),
        );
        return;
    };
    let members = model.cluster_nodes(cluster);
    for n in spec_nodes.iter().filter(|n| !members.contains(&n.value.as_str())) {
        let mut d =
            Diagnostic::new(Code::NodeNotInCluster, n.span, format!("`{}` is no node of cluster `{cluster}`", n.value))
                .label("not among its `servers:` or `agents:`")
                .help(format!(
                    "name a node of `{cluster}`: {}",
                    members.iter().map(|m| format!("`{m}`")).collect::<Vec<_>>().join(", ")
                ));
        if let Some(best) = suggest::did_you_mean(&n.value, members.iter().copied()) {
            d = d.suggest(n.span, best);
        }
        out.push(d);
    }
    // `hostPath` folders live on the first server (kubernetes.rs pins such pods there).
    let Some(first) = members.first() else { return };
    let host_path = s.volumes.iter().any(|v| v.nfs.is_none());
    let valid = spec_nodes.iter().all(|n| members.contains(&n.value.as_str()));
    if host_path && valid && !spec_nodes.iter().any(|n| n.value == *first) {
        out.push(
            Diagnostic::new(
                Code::NodesAwayFromVolumes,
                list,
                format!(
                    "`{}` keeps its volumes in folders on `{first}`, the first server of `{cluster}`, but `nodes:` does not place it there",
                    e.name
                ),
            )
            .label("its pod would find none of its data")
            .help(format!(
                "add `{first}` to `nodes:`, or keep its data on an NFS share (`share:NAME` under `mounts:`) and drop the other volumes (`volumes: {{ NAME: false }}`)"
            ))
            .suggest_edit(Edit::append(list, *first)),
        );
    }
}

fn job(e: &Entry<ast::Service>, s: &Service, out: &mut Vec<Diagnostic>) {
    let Some(schedule) = &e.value.schedule else { return };
    if !matches!(s.on, Placement::Cluster(_)) {
        out.push(
            Diagnostic::new(
                Code::JobUnfit,
                schedule.span,
                format!(
                    "`schedule:` runs `{}` as a Kubernetes CronJob, but it runs on `{}`, which is no cluster",
                    e.name,
                    s.on.name()
                ),
            )
            .label("only a cluster runs jobs")
            .help("place it on a cluster (`on: CLUSTER`), or remove `schedule:` to run it all the time")
            .suggest_removal(field(e, "schedule", schedule.span)),
        );
        return;
    }
    if let Some(expose) = e.value.spans.value("expose") {
        out.push(
            Diagnostic::new(
                Code::JobUnfit,
                expose,
                format!("job `{}` runs only at `{}`, so the proxy would route to nothing", e.name, schedule.value),
            )
            .label("nothing listens between its runs")
            .with(schedule.span, "a job")
            .help("remove `expose:`, or remove `schedule:` to run it all the time")
            .suggest_removal(field(e, "expose", expose)),
        );
    }
}
