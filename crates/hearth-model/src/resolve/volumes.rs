//! Service volumes: catalog and spec volumes and mounts translated to host or guest paths, and
//! the dataset each lies in.

use hearth_catalog::App;
use hearth_spec::ast::{self, Form};
use hearth_spec::{Code, Diagnostic, Span, suggest};

use super::Resolver;
use super::connections::sql_ident;
use crate::model::{Placement, Volume};

impl Resolver<'_> {
    pub(super) fn volumes(
        &mut self,
        name: &str,
        svc: &ast::Service,
        app: Option<&App>,
        on: &Placement,
        form: Form,
    ) -> Vec<Volume> {
        let mut out = Vec::new();
        let base = if form == Form::Docker { format!("/opt/hearth/{name}") } else { String::new() };
        let translate = |r: &mut Self, src: &str, span: Span| -> Option<String> {
            if src.starts_with('/') {
                return Some(src.to_string());
            }
            let result = match on {
                Placement::Host(h) => r.host_path(h, src),
                Placement::Guest(g) => r.guest_path(g, src),
                Placement::Cluster(_) => Ok(src.to_string()),
            };
            match result {
                Ok(p) => Some(p),
                Err(msg) => {
                    r.diags.push(
                        Diagnostic::new(
                            Code::UnknownReference,
                            span,
                            format!("cannot use `{src}` for service `{name}`: {msg}"),
                        )
                        .help("mount the dataset into the guest (`mounts:` on the guest) or give an absolute path"),
                    );
                    None
                }
            }
        };
        if let Some(app) = app {
            for (vname, v) in app.volumes.iter() {
                let same_path = v.same_path == Some(true) && form == Form::Docker;
                let source = if let Some(over) = svc.volumes.get(vname) {
                    // `false` drops the catalog's volume: the container keeps that path in its
                    // own writable layer (a cache the operator does not want on disk).
                    if over.value == crate::docker::DROP_VOLUME {
                        continue;
                    }
                    let Some(p) = translate(self, &over.value, over.span) else { continue };
                    if same_path && p.trim_end_matches('/') != v.path.trim_end_matches('/') {
                        self.diags.push(
                            Diagnostic::new(
                                Code::HostPathMustMatch,
                                over.span,
                                format!(
                                    "volume `{vname}` of service `{name}` must be `{}` on the host too: the app \
                                     hands that path to the Docker engine for the containers it starts",
                                    v.path
                                ),
                            )
                            .help(format!(
                                "remove `{vname}` from the service's `volumes:` (it then uses `{}`)",
                                v.path
                            )),
                        );
                        continue;
                    }
                    p
                } else if same_path {
                    v.path.clone()
                } else if v.socket == Some(true) {
                    v.host.clone().unwrap_or_else(|| v.path.clone())
                } else if form == Form::Docker {
                    format!("{base}/{vname}")
                } else {
                    // Container paths mean nothing to a native service; its data lives where its
                    // package keeps it (added below), so catalog volumes are skipped.
                    continue;
                };
                out.push(Volume {
                    name: vname.to_string(),
                    source,
                    target: v.path.clone(),
                    stateful: v.stateful == Some(true),
                    readonly: v.readonly == Some(true),
                    dataset: None,
                    nfs: None,
                });
            }
            if let Some(native) = self.native_data(name, app, on)
                && form == Form::Native
            {
                out.push(Volume {
                    name: "data".into(),
                    source: native.clone(),
                    target: native,
                    stateful: true,
                    readonly: false,
                    dataset: None,
                    nfs: None,
                });
            }
        }
        for e in &svc.volumes.entries {
            if app.is_some_and(|a| a.volumes.contains(&e.name)) {
                continue;
            }
            if app.is_some() {
                let known: Vec<&str> = app.map(|a| a.volumes.names().collect()).unwrap_or_default();
                let mut d = Diagnostic::new(
                    Code::UnknownReference,
                    e.key_span,
                    format!("app of service `{name}` has no volume `{}`", e.name),
                );
                if let Some(h) = suggest::help_for(&e.name, known.iter().copied(), "volumes") {
                    d = d.help(h);
                }
                if let Some(best) = suggest::did_you_mean(&e.name, known.iter().copied()) {
                    d = d.suggest_part(e.key_span, e.name.as_str(), best);
                }
                self.diags.push(d);
                continue;
            }
            // Dropping a volume the service has not got is reported by the checks (E808).
            if e.value.value == crate::docker::DROP_VOLUME {
                continue;
            }
            if let Some(source) = translate(self, &e.value.value, e.value.span) {
                // An image has no catalog names for its folders: a key that is a container path
                // (`/mosquitto/data`, as Compose writes volumes) puts the data where the image
                // keeps it; a bare name is a folder of its own under `/data`.
                let (name, target) = match e.name.strip_prefix('/') {
                    Some(path) => (sql_ident(path.trim_end_matches('/')), e.name.clone()),
                    None => (e.name.clone(), format!("/data/{}", e.name)),
                };
                out.push(Volume { name, source, target, stateful: true, readonly: false, dataset: None, nfs: None });
            }
        }
        // `share:NAME` mounts are the shares resolver's, which knows the shares (resolve/shares.rs).
        for e in svc.mounts.entries.iter().filter(|e| !e.value.from.value.starts_with(super::shares::SHARE_PREFIX)) {
            if let Some(source) = translate(self, &e.value.from.value, e.value.from.span) {
                out.push(Volume {
                    name: sql_ident(e.name.trim_start_matches('/')),
                    source,
                    target: e.name.clone(),
                    stateful: false,
                    readonly: e.value.readonly.as_ref().is_some_and(|r| r.value),
                    dataset: None,
                    nfs: None,
                });
            }
        }
        for v in &mut out {
            v.dataset = self.dataset_of(on, &v.source);
        }
        out
    }

    /// Where a native service keeps its data: the NixOS module's folder on a NixOS guest when
    /// the catalog names one (NixOS's Redis keeps `/var/lib/redis-<name>`, its Prometheus
    /// `/var/lib/prometheus2`), else the package's.
    fn native_data(&self, name: &str, app: &App, on: &Placement) -> Option<String> {
        let native = app.native.as_ref()?;
        let nixos = match on {
            Placement::Guest(g) => {
                self.spec.guests.get(g).and_then(|g| g.os.as_ref()).is_some_and(|os| os.value.starts_with("nixos"))
            }
            _ => false,
        };
        match &native.nixos_data {
            Some(path) if nixos => Some(path.replace("{{ service }}", name)),
            _ => native.data.clone(),
        }
    }

    /// The `pool/dataset` holding a path on the machine a service runs on: through the guest's
    /// bind mounts back to its host, then the host's pool mount points.
    pub(super) fn dataset_of(&self, on: &Placement, path: &str) -> Option<String> {
        let under = |path: &str, base: &str| -> Option<String> {
            let base = base.trim_end_matches('/');
            if path == base {
                Some(String::new())
            } else {
                path.strip_prefix(base).and_then(|r| r.strip_prefix('/')).map(|r| format!("/{r}"))
            }
        };
        let (host, host_path) = match on {
            Placement::Guest(g) => {
                let guest = self.spec.guests.get(g)?;
                let host = guest.lxc.as_ref().map(|l| &l.on).or(guest.vm.as_ref().map(|v| &v.on))?.value.clone();
                let (rest, from) = guest
                    .mounts
                    .entries
                    .iter()
                    .filter(|m| !m.value.from.value.starts_with(super::shares::SHARE_PREFIX))
                    .find_map(|m| under(path, &m.name).map(|r| (r, m.value.from.value.clone())))?;
                if !from.starts_with('/') {
                    return Some(format!("{from}{rest}"));
                }
                (host, format!("{from}{rest}"))
            }
            Placement::Host(h) => (h.clone(), path.to_string()),
            Placement::Cluster(_) => return None,
        };
        let h = self.spec.hosts.get(&host)?;
        h.storage.entries.iter().find_map(|p| {
            let base = p.value.path.clone().unwrap_or_else(|| format!("/{}", p.name));
            under(&host_path, &base).map(|r| format!("{}{r}", p.name))
        })
    }
}
