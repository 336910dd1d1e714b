//! Kubernetes manifests for services placed on a cluster (`on: <cluster>`): one multi-document
//! file per service, `/var/lib/hearth/k8s/<cluster>/<service>.yaml`, on the cluster's first
//! server guest (where `kubectl apply -f` runs; the cluster's name when it lists no server).
//!
//! Each file holds, in apply order:
//! - a `Service` (ClusterIP) with the service's ports, so other workloads and the ingress reach it
//!   by name; its port numbers are the model's host ports (what exposures and `uses:` point at),
//!   its target ports the container ports by name;
//! - a `Deployment`, or a `StatefulSet` when the service has stateful volumes: those become
//!   `volumeClaimTemplates` (1Gi requested, the cluster's default storage class; the model has no
//!   sizes), so each replica keeps its own claim across restarts and rescheduling. Socket volumes
//!   (the Docker socket) are `hostPath`; other non-stateful volumes are `emptyDir`, because a
//!   machine path means nothing on a node the scheduler picks;
//! - an `Ingress` per exposure: host = the exposed name, path prefix, `ingressClassName: traefik`
//!   on k3s (its bundled controller), TLS from a `<name>-tls` Secret (cert-manager or the operator
//!   provides it) unless the homelab serves plain HTTP.
//!
//! Secrets: non-secret environment is inline; secret environment comes from `envFrom` of the
//! Secret `hearth-<service>`, whose values never enter a manifest. Hearth writes them to the 0600
//! file `<service>.secrets.env` beside the manifest, for
//! `kubectl create secret generic hearth-<service> --from-env-file=...`.
//!
//! Probes come from the healthcheck (the catalog's argument vector for a command probe, else
//! `sh -c`): readiness with the check's period, timeout and retries; liveness the same after the
//! catalog's start period. Memory is requested at the catalog's minimum and limited by the
//! service's `resources`.

use hearth_catalog::App;
use hearth_model::model::{Placement, Port, Probe, Service, Template, Tls};
use hearth_spec::ast::Protocol;
use serde_json::{Map, Value, json};

use crate::{Activation, Context, File, Kind, Output, fill};

/// The storage each stateful volume claims; the model carries no volume sizes.
const DEFAULT_CLAIM: &str = "1Gi";

/// Where k3s installs `kubectl` (a link to the k3s binary).
const KUBECTL: &str = "/usr/local/bin/kubectl";

pub fn render(cx: &Context, out: &mut Output) {
    let model = cx.model;
    for (name, s) in &model.services {
        let Placement::Cluster(cluster) = &s.on else { continue };
        let c = model.clusters.get(cluster);
        let machine = c.and_then(|c| c.servers.first()).map_or(cluster.as_str(), String::as_str);
        let k3s = c.is_some_and(|c| c.kind == hearth_spec::ast::ClusterKind::K3s);
        let app = s.app.as_deref().and_then(|a| cx.catalog.get(a));
        let dir = format!("/var/lib/hearth/k8s/{cluster}");
        let source = format!("service/{name}");

        let secret: Vec<(&String, &Template)> = s.env.iter().filter(|(_, v)| v.is_secret()).collect();
        let mut docs = Vec::new();
        if let Some(svc) = service(name, s) {
            docs.push(svc);
        }
        docs.push(workload(name, s, app, !secret.is_empty()));
        for (i, e) in s.exposes.iter().enumerate() {
            docs.push(ingress(cx, name, s, i, e, k3s));
        }
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
        let mut file = File::new(machine, path, Kind::Kubernetes, text).activate(apply).from(&source);
        if c.is_some() {
            file = file.from(format!("guest/{machine}"));
        }
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
                "{KUBECTL} create secret generic hearth-{name} --from-env-file={path} --dry-run=client -o yaml | {KUBECTL} apply -f -"
            );
            let apply = Activation::Run { argv: vec!["/bin/sh".into(), "-c".into(), script] };
            out.push(File::new(machine, path, Kind::EnvSecret, env).activate(apply).from(&source));
        }
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

fn service(name: &str, s: &Service) -> Option<Value> {
    let mut ports = Vec::new();
    for p in &s.ports {
        for (proto, pname) in protocols(p) {
            ports.push(json!({
                "name": pname,
                "port": p.reachable(),
                "targetPort": pname,
                "protocol": proto,
            }));
        }
    }
    if ports.is_empty() {
        return None;
    }
    Some(json!({
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": { "name": name, "labels": labels(name) },
        "spec": { "type": "ClusterIP", "selector": { "app.kubernetes.io/name": name }, "ports": ports },
    }))
}

/// A Kubernetes volume name from a catalog volume name.
fn volume_name(name: &str) -> String {
    let mut s: String =
        name.to_ascii_lowercase().chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).collect();
    s.truncate(63);
    s.trim_matches('-').to_string()
}

fn workload(name: &str, s: &Service, app: Option<&App>, secret_env: bool) -> Value {
    let stateful = s.volumes.iter().any(|v| v.stateful);
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
    if let Some((ready, live)) = probes(s) {
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
    let mut claims = Vec::new();
    for v in &s.volumes {
        let vname = volume_name(&v.name);
        let mut m = json!({ "name": vname, "mountPath": v.target });
        if v.readonly {
            m["readOnly"] = json!(true);
        }
        mounts.push(m);
        let socket = app.and_then(|a| a.volumes.get(&v.name)).is_some_and(|av| av.socket == Some(true));
        if v.stateful {
            claims.push(json!({
                "metadata": { "name": vname },
                "spec": { "accessModes": ["ReadWriteOnce"], "resources": { "requests": { "storage": DEFAULT_CLAIM } } },
            }));
        } else if socket {
            volumes.push(json!({ "name": vname, "hostPath": { "path": v.source } }));
        } else {
            volumes.push(json!({ "name": vname, "emptyDir": {} }));
        }
    }
    if !mounts.is_empty() {
        container.insert("volumeMounts".into(), json!(mounts));
    }
    let mut pod = Map::new();
    pod.insert("containers".into(), json!([Value::Object(container)]));
    if !volumes.is_empty() {
        pod.insert("volumes".into(), json!(volumes));
    }
    let mut spec = Map::new();
    if stateful {
        spec.insert("serviceName".into(), json!(name));
    }
    spec.insert("replicas".into(), json!(1 + s.also_on.len()));
    spec.insert("selector".into(), json!({ "matchLabels": { "app.kubernetes.io/name": name } }));
    spec.insert("template".into(), json!({ "metadata": { "labels": labels(name) }, "spec": Value::Object(pod) }));
    if stateful {
        spec.insert("volumeClaimTemplates".into(), json!(claims));
    }
    json!({
        "apiVersion": "apps/v1",
        "kind": if stateful { "StatefulSet" } else { "Deployment" },
        "metadata": { "name": name, "labels": labels(name) },
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

fn ingress(cx: &Context, name: &str, s: &Service, i: usize, e: &hearth_model::model::Exposure, k3s: bool) -> Value {
    let port =
        s.ports.iter().find(|p| p.host == Some(e.port) || p.container == e.port).map_or(e.port, |p| p.reachable());
    let object = if i == 0 { name.to_string() } else { format!("{name}-{i}") };
    let mut spec = Map::new();
    if k3s {
        spec.insert("ingressClassName".into(), json!("traefik"));
    }
    if cx.model.ingress.tls != Tls::None {
        let secret: String =
            e.fqdn.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '-' }).collect();
        spec.insert("tls".into(), json!([{ "hosts": [e.fqdn], "secretName": format!("{secret}-tls") }]));
    }
    spec.insert(
        "rules".into(),
        json!([{
            "host": e.fqdn,
            "http": { "paths": [{
                "path": e.path.clone().unwrap_or_else(|| "/".into()),
                "pathType": "Prefix",
                "backend": { "service": { "name": name, "port": { "number": port } } },
            }] },
        }]),
    );
    json!({
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": { "name": object, "labels": labels(name) },
        "spec": Value::Object(spec),
    })
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
