//! Kubernetes manifests for services placed on a cluster (`on: <cluster>`): one multi-document
//! file per service, `/var/lib/hearth/k8s/<cluster>/<service>.yaml`, on the cluster's first
//! server (its control plane, where k3s installs `kubectl`), applied there with `kubectl apply`.
//! Every object lives in the namespace `default`, which the model's in-cluster DNS names
//! (`<service>.default.svc.cluster.local`) assume.
//!
//! Each file holds, in apply order:
//! - a `Service` with the service's ports: its port numbers are the model's (what pods of the
//!   cluster use with the DNS name), its target ports the container ports by name. When the
//!   homelab's proxy routes to it or a consumer outside the cluster uses it, it is a `NodePort`
//!   Service with the model's NodePorts, which the proxy's routes, the consumers' connection
//!   strings and the nodes' firewall openings name; else `ClusterIP`. No `Ingress` is rendered:
//!   the homelab's proxy terminates TLS and routes by name, so the cluster needs neither an
//!   ingress controller nor TLS secrets;
//! - a `Deployment`, or for a job (a service with `schedule:`) a `CronJob` (batch/v1) in the
//!   homelab's timezone that never overlaps its runs, and no Service. Every volume is a
//!   `hostPath` at the model's path (the spec's declared path, else
//!   `/opt/hearth/<service>/<volume>`), never an `emptyDir` or a claim of a made-up size, so
//!   declared data is where the operator put it and kept across restarts. Pods with such volumes
//!   are pinned to the first server by its hostname, the machine those paths (and the files other
//!   renderers write into them, moved there by [`relocate`]) are on, and replaced with the
//!   `Recreate` strategy so two pods never share the folders. Mounts (`mounts:`, data brought in
//!   from elsewhere) must exist (`Directory`); Hearth's own folders are created
//!   (`DirectoryOrCreate`). A `share:NAME` mount is an `nfs` volume the node mounts for the pod
//!   (server, export and `readOnly` from the share). Other pods run on the nodes of the
//!   service's `nodes:` (a `nodeSelector` for one, a node affinity for several), else anywhere.
//!
//! Secrets: non-secret environment is inline; secret environment comes from `envFrom` of the
//! Secret `hearth-<service>`, whose values never enter a manifest. Hearth writes them to the 0600
//! file `<service>.secrets.env` beside the manifest, applied as that Secret.
//!
//! Probes come from the healthcheck (the catalog's argument vector for a command probe, else
//! `sh -c`): readiness with the check's period, timeout and retries; liveness the same after the
//! catalog's start period. Memory is requested at the catalog's minimum and limited by the
//! service's `resources`.
//!
//! Files other renderers write for a service on a cluster (a Redis `redis.conf` in its config
//! volume, PostgreSQL's init script) name the cluster as their machine; [`relocate`] moves them
//! to the first server and turns a container restart into `kubectl rollout restart`.

use hearth_catalog::App;
use hearth_model::Model;
use hearth_model::model::{CLUSTER_NAMESPACE, Placement, Port, Probe, Service, Template};
use hearth_spec::ast::Protocol;
use serde_json::{Map, Value, json};

use crate::{Activation, Context, File, Kind, Output, fill};

/// Where k3s installs `kubectl` (a link to the k3s binary).
pub(crate) const KUBECTL: &str = "/usr/local/bin/kubectl";

pub fn render(cx: &Context, out: &mut Output) {
    let model = cx.model;
    for (name, s) in &model.services {
        let Placement::Cluster(cluster) = &s.on else { continue };
        let Some(machine) = crate::query::control_plane(model, cluster) else { continue };
        let app = s.app.as_deref().and_then(|a| cx.catalog.get(a));
        let dir = format!("/var/lib/hearth/k8s/{cluster}");
        let source = format!("service/{name}");

        let secret: Vec<(&String, &Template)> = s.env.iter().filter(|(_, v)| v.is_secret()).collect();
        let mut docs = Vec::new();
        // A job serves nothing between its runs: it gets no Service (the checks refuse `expose:`
        // and `uses:` of it).
        if s.schedule.is_none()
            && let Some(svc) = service(model, name, s)
        {
            docs.push(svc);
        }
        let hostname = |m: &str| model.guests.get(m).map_or(m, |g| g.hostname.as_str()).to_string();
        // Pods with `hostPath` volumes run where those folders are; others on the nodes the spec
        // names, else anywhere.
        let host_path = s.volumes.iter().any(|v| v.nfs.is_none());
        let placement = if host_path { vec![hostname(machine)] } else { s.nodes.iter().map(|n| hostname(n)).collect() };
        let pod = pod(name, s, app, !secret.is_empty(), &placement);
        docs.push(match &s.schedule {
            Some(schedule) => cron_job(name, &schedule.cron(), &model.timezone, pod),
            None => deployment(name, s, pod, host_path),
        });
        let mut text = format!(
            "# Kubernetes objects of service `{name}` on cluster `{cluster}`, rendered by Hearth.\n# kubectl apply -f {dir}/{name}.yaml\n"
        );
        if !secret.is_empty() {
            text.push_str(&format!(
                "# Secret environment: kubectl create secret generic hearth-{name} --from-env-file={dir}/{name}.secrets.env\n"
            ));
        }
        for d in &docs {
            text.push_str("---\n");
            // Strings are always quoted: Kubernetes reads YAML 1.1, where `on` or `08` change type.
            text.push_str(&crate::yaml::Node::from_json(d).to_block(&crate::yaml::quoted));
        }
        let path = format!("{dir}/{name}.yaml");
        let apply = Activation::Run { argv: vec![KUBECTL.into(), "apply".into(), "-f".into(), path.clone()] };
        let file = File::new(machine, path, Kind::Kubernetes, text)
            .activate(apply)
            .from(&source)
            .from(format!("guest/{machine}"));
        out.push(file);
        if !secret.is_empty() {
            let mut env = format!(
                "# Secret environment of `{name}` (Secret hearth-{name}), rendered by Hearth. Keep mode 0600.\n"
            );
            for (k, v) in secret {
                env.push_str(&format!("{k}={}\n", fill(v, cx.secrets)));
            }
            let path = format!("{dir}/{name}.secrets.env");
            // Create or replace the Secret from the file, idempotently.
            let script = format!(
                "{KUBECTL} create secret generic hearth-{name} --namespace={CLUSTER_NAMESPACE} --from-env-file={path} --dry-run=client -o yaml | {KUBECTL} apply -f -"
            );
            let apply = Activation::Run { argv: vec!["/bin/sh".into(), "-c".into(), script] };
            out.push(File::new(machine, path, Kind::EnvSecret, env).activate(apply).from(&source));
        }
    }
}

/// Moves the files other renderers wrote for services on a cluster, which name the cluster as
/// their machine, to its first server: the paths are the pods' `hostPath` volumes there (see
/// [`render`]), and scripts that run in a service's container reach it with `kubectl exec`. A
/// restart of the container becomes a `kubectl rollout restart` of its Deployment; bringing a
/// Compose project up, which means nothing for a pod, is dropped.
pub fn relocate(model: &Model, files: &mut [File]) {
    for f in files.iter_mut() {
        if !model.clusters.contains_key(&f.machine) {
            continue;
        }
        let Some(machine) = crate::query::control_plane(model, &f.machine) else { continue };
        let machine = machine.to_string();
        f.activation = std::mem::take(&mut f.activation)
            .into_iter()
            .filter_map(|a| match a {
                // A job's next run reads the new file: there is no Deployment to restart.
                Activation::RestartContainer { service, .. }
                    if model.services.get(&service).is_some_and(|s| s.schedule.is_some()) =>
                {
                    None
                }
                Activation::RestartContainer { service, .. } => Some(Activation::Run {
                    argv: [KUBECTL, "rollout", "restart", "--namespace", CLUSTER_NAMESPACE]
                        .map(String::from)
                        .into_iter()
                        .chain([format!("deployment/{service}")])
                        .collect(),
                }),
                Activation::ComposeUp { .. } => None,
                // Units, packages and scripts of the node itself (a backup timer saving the
                // hostPath folders) work there as on any machine.
                a => Some(a),
            })
            .collect();
        f.sources.insert(format!("guest/{machine}"));
        f.machine = machine;
    }
}

fn labels(name: &str) -> Value {
    json!({ "app.kubernetes.io/name": name, "app.kubernetes.io/managed-by": "hearth" })
}

/// A port name Kubernetes accepts: at most 15 lowercase letters, digits and inner `-`.
fn port_name(name: &str) -> String {
    let mut s: String =
        name.to_ascii_lowercase().chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).collect();
    s.truncate(15);
    let s = s.trim_matches('-').to_string();
    if s.is_empty() || s.chars().all(|c| c.is_ascii_digit()) { format!("p-{s}") } else { s }
}

/// Transport protocols of a port: DNS is both.
fn protocols(p: &Port) -> Vec<(&'static str, String)> {
    let base = port_name(&p.name);
    match p.protocol {
        Protocol::Udp => vec![("UDP", base)],
        Protocol::Dns => {
            let mut udp = base.clone();
            udp.truncate(11);
            vec![("TCP", base), ("UDP", format!("{}-udp", udp.trim_end_matches('-')))]
        }
        _ => vec![("TCP", base)],
    }
}

fn service(model: &Model, name: &str, s: &Service) -> Option<Value> {
    // Reached from outside the cluster: the proxy routes to it, or a consumer elsewhere uses it.
    let outside = !s.exposes.is_empty()
        || model.services.values().any(|c| c.on != s.on && c.uses.iter().any(|u| u.service == name));
    let mut ports = Vec::new();
    for p in &s.ports {
        for (proto, pname) in protocols(p) {
            let mut port = json!({
                "name": pname,
                "port": p.reachable(),
                "targetPort": pname,
                "protocol": proto,
            });
            if outside && let Some(node_port) = s.node_ports.get(&p.name) {
                port["nodePort"] = json!(node_port);
            }
            ports.push(port);
        }
    }
    if ports.is_empty() {
        return None;
    }
    Some(json!({
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": metadata(name),
        "spec": {
            "type": if outside { "NodePort" } else { "ClusterIP" },
            "selector": { "app.kubernetes.io/name": name },
            "ports": ports,
        },
    }))
}

fn metadata(name: &str) -> Value {
    json!({ "name": name, "namespace": CLUSTER_NAMESPACE, "labels": labels(name) })
}

/// A Kubernetes volume name from a catalog volume name.
fn volume_name(name: &str) -> String {
    let mut s: String =
        name.to_ascii_lowercase().chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).collect();
    s.truncate(63);
    s.trim_matches('-').to_string()
}

/// The pod spec of a service: its container, its volumes and the nodes it may run on (one:
/// a `nodeSelector` on its hostname; several: a required node affinity).
fn pod(name: &str, s: &Service, app: Option<&App>, secret_env: bool, nodes: &[String]) -> Map<String, Value> {
    let mut container = Map::new();
    container.insert("name".into(), json!(name));
    container.insert("image".into(), json!(s.image.clone().unwrap_or_default()));
    if let Some(cmd) = &s.command {
        container.insert("args".into(), json!(cmd));
    }
    let ports: Vec<Value> = s
        .ports
        .iter()
        .flat_map(|p| {
            protocols(p)
                .into_iter()
                .map(|(proto, n)| json!({ "name": n, "containerPort": p.container, "protocol": proto }))
        })
        .collect();
    if !ports.is_empty() {
        container.insert("ports".into(), json!(ports));
    }
    let env: Vec<Value> = s
        .env
        .iter()
        .filter(|(_, v)| !v.is_secret())
        .map(|(k, v)| json!({ "name": k, "value": v.to_string() }))
        .collect();
    if !env.is_empty() {
        container.insert("env".into(), json!(env));
    }
    if secret_env {
        container.insert("envFrom".into(), json!([{ "secretRef": { "name": format!("hearth-{name}") } }]));
    }
    // A job's pod is done when its process exits: no probe decides whether it is ready.
    if s.schedule.is_none()
        && let Some((ready, live)) = probes(s)
    {
        container.insert("readinessProbe".into(), ready);
        container.insert("livenessProbe".into(), live);
    }
    let mut resources = Map::new();
    if let Some(mem) = app.and_then(|a| a.resources.as_ref()).and_then(|r| r.memory) {
        resources.insert("requests".into(), json!({ "memory": format!("{}Mi", mem.mib()) }));
    }
    let mut limits = Map::new();
    if let Some(r) = &s.resources {
        if let Some(mem) = r.memory {
            limits.insert("memory".into(), json!(format!("{}Mi", mem.mib())));
        }
        if let Some(cpus) = r.cpus {
            limits.insert("cpu".into(), json!(format!("{}m", (cpus * 1000.0).round() as u64)));
        }
    }
    if !limits.is_empty() {
        resources.insert("limits".into(), Value::Object(limits));
    }
    if !resources.is_empty() {
        container.insert("resources".into(), Value::Object(resources));
    }
    let mut mounts = Vec::new();
    let mut volumes = Vec::new();
    for v in &s.volumes {
        let vname = volume_name(&v.name);
        let mut m = json!({ "name": vname, "mountPath": v.target });
        if v.readonly {
            m["readOnly"] = json!(true);
        }
        mounts.push(m);
        if let Some(nfs) = &v.nfs {
            // The node's kubelet mounts the share for the pod: no folder on any node is involved.
            volumes.push(json!({
                "name": vname,
                "nfs": { "server": nfs.server.to_string(), "path": nfs.path, "readOnly": v.readonly },
            }));
            continue;
        }
        let socket = app.and_then(|a| a.volumes.get(&v.name)).is_some_and(|av| av.socket == Some(true));
        let own = v.source.starts_with(&format!("/opt/hearth/{name}/"));
        let kind = if socket {
            "Socket"
        } else if v.stateful || own {
            "DirectoryOrCreate"
        } else {
            "Directory"
        };
        volumes.push(json!({ "name": vname, "hostPath": { "path": v.source, "type": kind } }));
    }
    if !mounts.is_empty() {
        container.insert("volumeMounts".into(), json!(mounts));
    }
    let mut pod = Map::new();
    pod.insert("containers".into(), json!([Value::Object(container)]));
    match nodes {
        [] => {}
        [node] => {
            pod.insert("nodeSelector".into(), json!({ "kubernetes.io/hostname": node }));
        }
        several => {
            let term = json!({ "matchExpressions": [{ "key": "kubernetes.io/hostname", "operator": "In", "values": several }] });
            pod.insert(
                "affinity".into(),
                json!({ "nodeAffinity": { "requiredDuringSchedulingIgnoredDuringExecution": { "nodeSelectorTerms": [term] } } }),
            );
        }
    }
    if !volumes.is_empty() {
        pod.insert("volumes".into(), json!(volumes));
    }
    pod
}

/// A long-running service's Deployment. One whose `hostPath` folders pin it to a node is
/// replaced with the `Recreate` strategy, so two pods never share the folders.
fn deployment(name: &str, s: &Service, pod: Map<String, Value>, pinned: bool) -> Value {
    let mut spec = Map::new();
    spec.insert("replicas".into(), json!(1 + s.also_on.len()));
    if pinned {
        spec.insert("strategy".into(), json!({ "type": "Recreate" }));
    }
    spec.insert("selector".into(), json!({ "matchLabels": { "app.kubernetes.io/name": name } }));
    spec.insert("template".into(), json!({ "metadata": { "labels": labels(name) }, "spec": Value::Object(pod) }));
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": metadata(name),
        "spec": Value::Object(spec),
    })
}

/// How many finished jobs of a CronJob Kubernetes keeps, to read their logs: the last three
/// that succeeded and the last that failed.
const JOBS_KEPT: (u32, u32) = (3, 1);

/// A job's CronJob: its schedule in cron syntax, in the homelab's timezone; a run never starts
/// while the previous one is still going (`Forbid`), and a failed container is restarted
/// within the run.
fn cron_job(name: &str, cron: &str, timezone: &str, mut pod: Map<String, Value>) -> Value {
    pod.insert("restartPolicy".into(), json!("OnFailure"));
    let mut spec = Map::new();
    spec.insert("schedule".into(), json!(cron));
    if !timezone.is_empty() {
        spec.insert("timeZone".into(), json!(timezone));
    }
    spec.insert("concurrencyPolicy".into(), json!("Forbid"));
    spec.insert("successfulJobsHistoryLimit".into(), json!(JOBS_KEPT.0));
    spec.insert("failedJobsHistoryLimit".into(), json!(JOBS_KEPT.1));
    spec.insert(
        "jobTemplate".into(),
        json!({
            "metadata": { "labels": labels(name) },
            "spec": { "template": { "metadata": { "labels": labels(name) }, "spec": Value::Object(pod) } },
        }),
    );
    json!({
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": metadata(name),
        "spec": Value::Object(spec),
    })
}

/// Readiness and liveness probes from the model's healthcheck.
fn probes(s: &Service) -> Option<(Value, Value)> {
    let hc = s.healthcheck.as_ref()?;
    let port_of = |p: &str| -> Value {
        match p.parse::<u16>() {
            Ok(n) => json!(n),
            Err(_) => s
                .ports
                .iter()
                .find(|x| x.name == p)
                .map_or_else(|| json!(p), |x| json!(protocols(x).first().map(|(_, n)| n.clone()).unwrap_or_default())),
        }
    };
    let mut probe = match &hc.probe {
        Probe::Http { port, path } => {
            let https = s.ports.iter().any(|x| &x.name == port && x.protocol == Protocol::Https);
            let mut get = json!({ "path": path, "port": port_of(port) });
            if https {
                get["scheme"] = json!("HTTPS");
            }
            json!({ "httpGet": get })
        }
        Probe::Tcp { port } => json!({ "tcpSocket": { "port": port_of(port) } }),
        Probe::Command { argv } => json!({ "exec": { "command": argv } }),
    };
    probe["periodSeconds"] = json!(hc.interval.as_secs().max(1));
    probe["timeoutSeconds"] = json!(hc.timeout.as_secs().max(1));
    probe["failureThreshold"] = json!(hc.retries.max(1));
    let mut live = probe.clone();
    if let Some(start) = hc.start_period {
        live["initialDelaySeconds"] = json!(start.as_secs());
    }
    Some((probe, live))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_names_are_valid() {
        assert_eq!(port_name("http"), "http");
        assert_eq!(port_name("very_long_port_name_here"), "very-long-port");
        assert_eq!(port_name("8080"), "p-8080");
    }

    #[test]
    fn objects_are_block_yaml_with_quoted_strings() {
        let d = json!({ "a": [{ "b": 1, "c": ["x"] }], "d": {} });
        let text = crate::yaml::Node::from_json(&d).to_block(&crate::yaml::quoted);
        assert_eq!(text, "a:\n  - b: 1\n    c:\n      - \"x\"\nd: {}\n");
    }
}
