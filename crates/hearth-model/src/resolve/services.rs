//! Services: placement, app, image, form and container settings (the first pass, before wiring).

use std::collections::BTreeMap;
use std::net::IpAddr;

use hearth_spec::ast::{self, BackupChoice, Form, Runtime};
use hearth_spec::{Code, Diagnostic};

use super::Resolver;
use crate::model::{Healthcheck, Model, Placement, Resources, Service, Watch};

impl Resolver<'_> {
    pub(super) fn machine_of(&mut self, svc: &ast::Service, model: &Model) -> Option<(Placement, Option<IpAddr>)> {
        let on = &svc.on;
        // A service bound to one network of its machine is reached at the machine's address
        // there; one that names a network the machine is not on is reported (E826).
        let bound = |interfaces: &[crate::zones::Interface], primary: Option<IpAddr>| match &svc.network {
            Some(net) => interfaces.iter().find(|i| i.network == net.value).and_then(|i| i.address).or(primary),
            None => primary,
        };
        if let Some(g) = model.guests.get(&on.value) {
            return Some((Placement::Guest(on.value.clone()), bound(&g.interfaces, g.address)));
        }
        if let Some(h) = model.hosts.get(&on.value) {
            return Some((Placement::Host(on.value.clone()), bound(&h.interfaces, h.address)));
        }
        if self.spec.clusters.contains(&on.value) {
            return Some((Placement::Cluster(on.value.clone()), None));
        }
        if !self.spec.guests.is_declared(&on.value) && !self.spec.hosts.is_declared(&on.value) {
            let mut candidates: Vec<&str> = self.spec.guests.names().collect();
            candidates.extend(self.spec.hosts.names());
            candidates.extend(self.spec.clusters.names());
            self.unknown(on.span, "guest, host or cluster", &on.value, candidates);
        }
        None
    }

    pub(super) fn services(&mut self, model: &mut Model) {
        let spec = self.spec;
        // The exporters Hearth adds run as services too (`exporters.rs`).
        let mut exporters = self.exporter_services(model);
        // So does the socket proxy of `ingress.discover` (`discovery.rs`).
        exporters.extend(self.discovery_services(model));
        // What Hearth adds goes beside a service or machine of the spec. When that one's machine
        // is unknown or did not resolve, the spec's own entry is already reported; the added
        // service is left out instead of being reported a second time at the entry that asked
        // for it (`monitoring.exporters`), under a name the user never wrote.
        exporters.retain(|(_, s)| {
            model.guests.contains_key(&s.on.value)
                || model.hosts.contains_key(&s.on.value)
                || spec.clusters.contains(&s.on.value)
        });
        let all = || {
            spec.services
                .entries
                .iter()
                .map(|e| (e.name.as_str(), &e.value))
                .chain(exporters.iter().map(|(n, s)| (n.as_str(), s)))
        };
        // First pass: placement, app, image, ports and volumes of every service, so `uses` can
        // look up what it connects to.
        for (name, svc) in all() {
            self.service(name, svc, model);
        }
        // Host ports are settled before anything connects to them, so routes and connection
        // strings use the port a service really got.
        self.watcher_port();
        self.settle_ports(model);
        node_ports(model);
        // Second pass: connections and environment.
        for (name, svc) in all() {
            if model.services.contains_key(name) {
                self.wire(name, svc, model);
            }
        }
    }

    /// One service's placement, app, image, form, ports, volumes and container settings.
    fn service(&mut self, name: &str, svc: &ast::Service, model: &mut Model) {
        let spec = self.spec;
        let Some((on, address)) = self.machine_of(svc, model) else { return };
        let app = match &svc.app {
            Some(a) => match self.catalog.get(&a.value) {
                Some(app) => Some(app),
                None => {
                    self.unknown(a.span, "app", &a.value, self.catalog.names().collect());
                    return;
                }
            },
            None => None,
        };
        if app.is_none() && svc.image.is_none() {
            let span = spec.services.entry(name).map_or(svc.span, |e| e.key_span);
            self.diags.push(
                Diagnostic::new(Code::MissingKey, span, format!("service `{name}` has neither `app:` nor `image:`"))
                    .help("name a catalog app (`app: jellyfin`) or give an image (`image: repo/name:1.2.3`)"),
            );
            return;
        }
        let image = match (&svc.image, app) {
            (Some(i), _) => Some(i.value.clone()),
            (None, Some(app)) => Some(match &svc.version {
                Some(v) => replace_tag(&app.image.value, &v.value),
                None => app.image.value.clone(),
            }),
            (None, None) => None,
        };
        let runtime = match &on {
            Placement::Guest(g) => model.guests.get(g).map(|g| g.runtime),
            Placement::Host(h) => model.hosts.get(h).and_then(|h| h.runtime),
            Placement::Cluster(_) => Some(Runtime::Docker),
        };
        let form = match &svc.form {
            Some(f) => f.value,
            None => match runtime {
                Some(Runtime::Docker) => Form::Docker,
                _ if app.is_some_and(|a| a.native.is_some()) => Form::Native,
                _ => Form::Docker,
            },
        };
        let machine = on.name().to_string();
        // The model knows the container's network mode, so the renderers leave out the stack
        // network, hostname and ports Compose refuses beside it.
        let network_mode = super::docker::network_mode(svc, app);
        // Pods on a cluster do not share a machine's ports, so they claim none.
        let claim = !matches!(on, Placement::Cluster(_));
        let ports = self.ports(name, svc, app, &machine, claim);
        let volumes = self.volumes(name, svc, app, &on, form);
        // Companions run only beside a container; a native service has none.
        let companions = match (app, &image) {
            (Some(app), Some(image)) if form == Form::Docker => {
                self.companions(name, svc, app, image, &volumes, claim.then_some(machine.as_str()))
            }
            _ => Vec::new(),
        };
        let stack = svc.stack.as_ref().map(|s| s.value.clone());
        let group = svc
            .group
            .clone()
            .unwrap_or_else(|| app.map_or_else(|| "apps".to_string(), |a| a.category.as_str().to_string()));
        let healthcheck = svc.healthcheck.as_ref().or(app.map(|a| &a.healthcheck)).and_then(Healthcheck::from_spec);
        let metrics = app
            .and_then(|a| a.metrics.as_ref())
            .map(|m| format!("{}{}", m.port, m.path.clone().unwrap_or_else(|| "/metrics".into())));
        let backup: Vec<String> = svc
            .backup
            .as_ref()
            .map(|b| b.policies().iter().map(|p| p.policy.value.clone()).collect())
            .unwrap_or_default();
        model.services.insert(
            name.to_string(),
            Service {
                app: app.map(|a| a.name.value.clone()),
                image,
                form,
                on,
                also_on: svc.also_on.iter().map(|a| a.value.clone()).collect(),
                address,
                network: svc.network.as_ref().map(|n| n.value.clone()),
                ports,
                env: BTreeMap::new(),
                volumes,
                uses: Vec::new(),
                exposes: Vec::new(),
                backup,
                after: svc.after.iter().map(|a| a.value.clone()).collect(),
                command: svc.command.clone().or_else(|| app.and_then(|a| a.command.clone())),
                user: svc.user.as_ref().map(|u| u.value.clone()).or_else(|| app.and_then(|a| a.user.clone())),
                runs_as: runs_as(svc, app),
                privileged: svc.privileged.or_else(|| app.and_then(|a| a.privileged)).unwrap_or(false),
                devices: union(app.map(|a| a.devices.as_slice()).unwrap_or_default(), &svc.devices),
                cap_add: union(app.map(|a| a.cap_add.as_slice()).unwrap_or_default(), &svc.cap_add),
                compose: svc.compose.as_ref().map(|c| c.0.clone()),
                backup_disabled: matches!(svc.backup, Some(BackupChoice::Disabled(_))),
                resources: svc
                    .resources
                    .as_ref()
                    .map(|r| Resources { cpus: r.cpus, memory: r.memory.as_ref().map(|m| m.value) }),
                via: svc.via.as_ref().map(|v| v.value.clone()),
                stack: stack.unwrap_or_else(|| slug(&group)),
                group,
                healthcheck,
                watch: watch(svc, self.spec),
                metrics,
                network_mode,
                docker: super::docker::settings(svc, app),
                companions,
                node_ports: BTreeMap::new(),
                nodes: svc.nodes.iter().map(|n| n.value.clone()).collect(),
                schedule: svc.schedule.as_ref().map(|s| s.value.clone()),
            },
        );
    }
}

/// A service's watch settings: its own, field by field over the spec's `monitoring.watch`.
fn watch(svc: &ast::Service, spec: &hearth_spec::Spec) -> Watch {
    let default = spec.monitoring.as_ref().and_then(|m| m.watch.as_ref()).map(Watch::from_spec).unwrap_or_default();
    svc.watch.as_ref().map(Watch::from_spec).unwrap_or_default().or(default)
}

/// The lowest NodePort of Kubernetes' default range (30000-32767).
const NODE_PORT_FIRST: u16 = 30000;

/// Gives every port of every service on a cluster a NodePort of its own on that cluster, in
/// order of service name and port, from the bottom of Kubernetes' range: what the proxy and
/// consumers outside the cluster connect to on any node. A DNS port's TCP and UDP share one.
fn node_ports(model: &mut Model) {
    let mut next: BTreeMap<String, u16> = BTreeMap::new();
    for s in model.services.values_mut() {
        let Placement::Cluster(cluster) = &s.on else { continue };
        // A job serves nothing outside its pod: it gets no Service, so no NodePort.
        if s.schedule.is_some() {
            continue;
        }
        let port = next.entry(cluster.clone()).or_insert(NODE_PORT_FIRST);
        for p in &s.ports {
            s.node_ports.insert(p.name.clone(), *port);
            *port += 1;
        }
    }
}

/// The non-root user a container's process runs as: the spec's raw `compose: { user: … }` (which
/// Compose applies over everything), else its `user:`, else the catalog's `user`, else the
/// image's own user. Root, by name or id, is no user to hand folders to.
fn runs_as(svc: &ast::Service, app: Option<&hearth_catalog::App>) -> Option<String> {
    let raw = svc.compose.as_ref().and_then(|c| match c.0.get("user")? {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    });
    let user = raw
        .or_else(|| svc.user.as_ref().map(|u| u.value.clone()))
        .or_else(|| app.and_then(|a| a.user.clone().or_else(|| a.image_user.clone())))?;
    let uid = user.split_once(':').map_or(user.as_str(), |(u, _)| u);
    (uid != "0" && uid != "root" && !uid.is_empty()).then_some(user)
}

/// The catalog's entries followed by the spec's, each once.
fn union(catalog: &[String], spec: &[String]) -> Vec<String> {
    let mut out = catalog.to_vec();
    for s in spec {
        if !out.contains(s) {
            out.push(s.clone());
        }
    }
    out
}

/// A compose project name from a group: lowercase letters and digits, other runs to one `-`
/// (`AI & Automation` -> `ai-automation`).
fn slug(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    let out = out.trim_end_matches('-').to_string();
    if out.is_empty() { "apps".to_string() } else { out }
}

/// `repo/name:tag` with another tag.
pub fn replace_tag(image: &str, tag: &str) -> String {
    let (without_digest, _) = image.split_once('@').unwrap_or((image, ""));
    let slash = without_digest.rfind('/').map_or(0, |i| i + 1);
    let base = match without_digest[slash..].find(':') {
        Some(i) => &without_digest[..slash + i],
        None => without_digest,
    };
    format!("{base}:{tag}")
}
