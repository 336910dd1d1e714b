//! `shares:` and the `share:NAME` mounts of guests and hosts: the server, address and port of
//! each share, who may mount it, and where each client mounts it. An LXC container's mount
//! becomes a mount on its Proxmox host bound into the container (see `crate::shares`); a pod's
//! is `pod_shares`'.

use std::collections::{BTreeMap, BTreeSet};

use hearth_spec::ast::{Mount, Runtime, Share as SpecShare, ShareKind};
use hearth_spec::decode::Entry;
use hearth_spec::reference::SecretRef;
use hearth_spec::{Code, Diagnostic, Edit, Sp, Span};

use super::Resolver;
use crate::model::{GuestKind, Model, Placement};
use crate::shares::{Share, ShareMount, TimeMachine, host_path};

/// The app that serves each kind of share, when Hearth renders the export.
fn server_app(kind: ShareKind) -> &'static str {
    match kind {
        ShareKind::Nfs => "nfs-server",
        ShareKind::Smb => "samba",
    }
}

pub(crate) use crate::shares::SHARE_PREFIX;

impl Resolver<'_> {
    pub(super) fn shares(&mut self, model: &mut Model) {
        let spec = self.spec;
        let mut served: BTreeMap<(String, String), (Span, String)> = BTreeMap::new();
        for e in &spec.shares.entries {
            let Some(share) = self.share(&e.name, &e.value, model) else { continue };
            // Two shares of one server at one folder (NFS) or under one name (SMB) would be one
            // export line or share section written twice.
            let key = match share.kind {
                ShareKind::Nfs => format!("nfs {}", share.path.trim_end_matches('/')),
                ShareKind::Smb => format!("smb {}", share.name.to_lowercase()),
            };
            let span = e.value.path.span;
            match served.get(&(share.machine.clone(), key.clone())) {
                Some((first, other)) => self.diags.push(
                    Diagnostic::new(
                        Code::ShareCollision,
                        if share.kind == ShareKind::Nfs { span } else { e.key_span },
                        format!(
                            "shares `{other}` and `{}` are the same {} on `{}`",
                            e.name,
                            what(share.kind),
                            share.machine
                        ),
                    )
                    .label("served twice")
                    .with(*first, format!("`{other}` is here"))
                    .help(format!(
                        "keep one of them, or give `{}` another `path`{}",
                        e.name,
                        smb_name_hint(share.kind)
                    )),
                ),
                None => {
                    served.insert((share.machine.clone(), key), (span, e.name.clone()));
                }
            }
            model.shares.insert(e.name.clone(), share);
        }
        for e in &spec.guests.entries {
            for m in e.value.mounts.entries.iter().filter(|m| m.value.from.value.starts_with(SHARE_PREFIX)) {
                self.share_mount(&e.name, m, true, model);
            }
        }
        for e in &spec.hosts.entries {
            for m in &e.value.mounts.entries {
                self.share_mount(&e.name, m, false, model);
            }
        }
        let pods = self.pod_shares(model);
        // Clients the spec leaves to be derived: the machines that mount the share, and the nodes
        // that mount it for pods.
        for (name, share) in &mut model.shares {
            let explicit = spec.shares.get(name).is_some_and(|s| !s.clients.is_empty());
            if !explicit {
                share.machines =
                    model.share_mounts.iter().filter(|m| &m.share == name).map(|m| m.machine.clone()).collect();
                share.machines.extend(pods.get(name).into_iter().flatten().cloned());
                share.machines.sort();
                share.machines.dedup();
            }
            if share.machines.is_empty()
                && share.networks.is_empty()
                && let Some(s) = spec.shares.get(name)
            {
                self.diags.push(
                    Diagnostic::new(Code::ShareUnused, s.server.span, format!("no machine mounts share `{name}`"))
                        .label("exported to nobody")
                        .help(format!(
                            "mount it with `share:{name}` in a guest's or host's `mounts:`, or name who may mount it in `clients:`"
                        )),
                );
            }
        }
        model.share_mounts.sort_by(|a, b| (&a.machine, &a.path).cmp(&(&b.machine, &b.path)));
    }

    /// One share: its server (a service of the right app, or a machine Hearth does not manage),
    /// its clients, and its credentials.
    fn share(&mut self, name: &str, s: &SpecShare, model: &mut Model) -> Option<Share> {
        let kind = s.kind.value;
        let server = &s.server.value;
        let (service, machine, address, port) = if let Some(svc) = model.services.get(server) {
            let app = server_app(kind);
            if svc.app.as_deref() != Some(app) || matches!(svc.on, Placement::Cluster(_)) {
                self.diags.push(
                    Diagnostic::new(
                        Code::ShareServerUnfit,
                        s.server.span,
                        format!("service `{server}` cannot serve the {} `{name}`", what(kind)),
                    )
                    .label(format!("not an `{app}` service on a guest or host"))
                    .help(format!("name a service with `app: {app}`, or the appliance that serves the share")),
                );
                return None;
            }
            let port = svc.port(port_name(kind)).map_or(Share::default_port(kind), |p| p.reachable);
            let machine = svc.on.name().to_string();
            let address = svc.address.or_else(|| model.machine_address(&machine));
            (Some(server.clone()), machine, address, port)
        } else if model.guests.contains_key(server) || model.hosts.contains_key(server) {
            let managed = match (model.guests.get(server), model.hosts.get(server)) {
                (Some(g), _) => g.managed,
                (None, Some(h)) => h.runtime != Some(Runtime::None),
                _ => false,
            };
            if managed {
                self.diags.push(
                    Diagnostic::new(
                        Code::ShareServerUnfit,
                        s.server.span,
                        format!("`{server}` is a machine Hearth manages, but nothing on it serves {}", what(kind)),
                    )
                    .label("no export would be rendered")
                    .help(format!(
                        "run a service with `app: {}` on `{server}` and name it here, or mark the appliance `managed: false`",
                        server_app(kind)
                    )),
                );
                return None;
            }
            (None, server.clone(), model.machine_address(server), Share::default_port(kind))
        } else {
            let mut candidates: Vec<&str> = self.spec.services.names().collect();
            candidates.extend(self.spec.guests.names());
            candidates.extend(self.spec.hosts.names());
            self.unknown(s.server.span, "service, guest or host", server, candidates);
            return None;
        };
        if !s.path.value.starts_with('/') || s.path.value.contains(char::is_whitespace) {
            let mut d = Diagnostic::new(
                Code::SharePathInvalid,
                s.path.span,
                format!("share path `{}` is not an absolute folder", s.path.value),
            )
            .label("the server's folder, as it sees it")
            .help("write the absolute path of the folder on the server, without spaces, such as `/tank/media`");
            if !s.path.value.contains(char::is_whitespace) && !s.path.value.is_empty() {
                d = d.suggest_part(s.path.span, &s.path.value, format!("/{}", s.path.value));
            }
            self.diags.push(d);
        }
        let share_name = s.name.as_ref().map_or(name, |n| n.value.as_str()).to_string();
        if kind == ShareKind::Smb && !valid_smb_name(&share_name) {
            let span = s.name.as_ref().map_or(s.server.span, |n| n.span);
            self.diags.push(
                Diagnostic::new(Code::SharePathInvalid, span, format!("`{share_name}` cannot be an SMB share name"))
                    .label("letters, digits, `-`, `_` and `.` only, at most 80")
                    .help("give the share a `name:` of letters, digits, `-` and `_`"),
            );
        }
        let (mut user, mut password) = (None, None);
        match kind {
            ShareKind::Nfs => {
                for (field, span) in
                    [("user", s.user.as_ref().map(|u| u.span)), ("password", s.password.as_ref().map(|p| p.span))]
                {
                    let Some(span) = span else { continue };
                    let key = s.spans.key(field).unwrap_or(span);
                    self.diags.push(
                        Diagnostic::new(
                            Code::ShareCredentialsOnNfs,
                            span,
                            format!("NFS share `{name}` takes no `{field}`"),
                        )
                        .label("NFS admits clients by address, not by login")
                        .help(format!("remove `{field}`, or make the share `kind: smb`"))
                        .suggest_edit(Edit::remove(Span { end: span.end, ..key })),
                    );
                }
            }
            ShareKind::Smb => {
                let login = s.user.as_ref().map_or_else(|| name.to_string(), |u| u.value.clone());
                let used_by = format!("share/{name}");
                let (first, first_password) = self.first_share_of_user(s, &login);
                let written = s.password.as_ref().map(|p| p.value.clone());
                if let (Some(p), true) = (&s.password, first != name)
                    && p.value != first_password
                {
                    let key = s.spans.key("password").map_or(p.span, |k| k.to(p.span));
                    self.diags.push(
                        Diagnostic::new(
                            Code::SharePasswordsDiffer,
                            p.span,
                            format!("share `{name}` gives user `{login}` another password than share `{first}`"),
                        )
                        .label(format!("share `{first}` logs in with `{first_password}`"))
                        .help(format!("remove `password:`: Samba keeps one password per user, and this share then takes share `{first}`'s"))
                        .suggest_removal(key),
                    );
                }
                user = Some(login);
                let template = match written.unwrap_or(first_password) {
                    SecretRef::Named(n) if service.is_some() => self.need_secret(&n, 32, &used_by),
                    SecretRef::Named(n) => self.external_secret(&n, &used_by, model),
                    other => crate::model::Template::secret(other.to_string()),
                };
                password = template.parts.iter().find_map(|p| match p {
                    crate::model::Part::Secret(r) => Some(r.clone()),
                    _ => None,
                });
            }
        }
        let time_machine = self.time_machine(name, s, kind);
        let (mut machines, mut networks) = (BTreeSet::new(), BTreeSet::new());
        for c in &s.clients {
            let v = c.value.as_str();
            if model.guests.contains_key(v) || model.hosts.contains_key(v) {
                machines.insert(self.mounting_machine(v, model));
            } else if model.networks.contains_key(v) {
                networks.insert(v.to_string());
            } else if model.networks.values().any(|n| n.zone == v) {
                networks.extend(model.networks.iter().filter(|(_, n)| n.zone == v).map(|(k, _)| k.clone()));
            } else {
                let mut candidates: Vec<&str> = self.spec.guests.names().collect();
                candidates.extend(self.spec.hosts.names());
                candidates.extend(self.spec.networks.names());
                self.unknown(c.span, "guest, host, network or zone", v, candidates);
            }
        }
        Some(Share {
            kind,
            service,
            machine,
            address,
            port,
            path: match s.path.value.trim_end_matches('/') {
                "" => "/".to_string(),
                p => p.to_string(),
            },
            name: share_name,
            readonly: s.readonly.as_ref().is_some_and(|r| r.value),
            machines: machines.into_iter().collect(),
            networks: networks.into_iter().collect(),
            user,
            password,
            time_machine,
            description: s.description.clone(),
        })
    }

    /// The first SMB share (in the spec's order) of `s`'s server that `login` logs into, and the
    /// password it gives: its `password:`, else `secret:share-<its name>-password`. Samba keeps
    /// one password per user, so every share of that user takes this one.
    fn first_share_of_user(&self, s: &SpecShare, login: &str) -> (String, SecretRef) {
        let first = self.spec.shares.entries.iter().find(|e| {
            e.value.kind.value == ShareKind::Smb
                && e.value.server.value == s.server.value
                && e.value.user.as_ref().map_or(e.name.as_str(), |u| u.value.as_str()) == login
        });
        match first {
            Some(e) => (
                e.name.clone(),
                e.value
                    .password
                    .as_ref()
                    .map_or_else(|| SecretRef::Named(format!("share-{}-password", e.name)), |p| p.value.clone()),
            ),
            None => (String::new(), SecretRef::Named(String::new())),
        }
    }

    /// A share's `time_machine:`: only an SMB share Macs can write to is one (E923), since Time
    /// Machine speaks SMB and writes its backups there.
    fn time_machine(&mut self, name: &str, s: &SpecShare, kind: ShareKind) -> Option<TimeMachine> {
        let tm = s.time_machine.as_ref().filter(|t| t.enabled.as_ref().is_none_or(|e| e.value))?;
        let span = s.spans.value("time_machine").unwrap_or(s.server.span);
        let key = s.spans.key("time_machine").map_or(span, |k| k.to(span));
        let refuse = |why: String, label: &str, help: &str| {
            Diagnostic::new(Code::TimeMachineUnfit, span, why).label(label).help(help).suggest_removal(key)
        };
        if kind == ShareKind::Nfs {
            self.diags.push(refuse(
                format!("NFS share `{name}` cannot be a Time Machine destination"),
                "Time Machine backs up over SMB only",
                "remove `time_machine:`, or make the share `kind: smb`",
            ));
            return None;
        }
        if let Some(ro) = s.readonly.as_ref().filter(|r| r.value) {
            self.diags.push(
                refuse(
                    format!("share `{name}` is a Time Machine destination but `readonly: true`"),
                    "Macs write their backups here",
                    "remove `time_machine:`, or `readonly: true`",
                )
                .with(ro.span, "read-only"),
            );
            return None;
        }
        Some(TimeMachine { max_size: tm.max_size.as_ref().map(|m| m.value) })
    }

    /// The machine that mounts a share for `client`: an LXC container's Proxmox host, else the
    /// client itself.
    /// Whether `who`'s mount of share `name` is read-only: as the mount says, else as the share
    /// is. A writable mount of a read-only share is refused (E842), with the edit to `true`.
    pub(super) fn mount_readonly(
        &mut self,
        name: &str,
        who: &str,
        mount: Option<&Sp<bool>>,
        share_readonly: bool,
    ) -> bool {
        match mount {
            Some(r) if !r.value && share_readonly => {
                let mut d = Diagnostic::new(
                    Code::ShareReadonlyMountedRw,
                    r.span,
                    format!("share `{name}` is read-only, but `{who}` mounts it writable"),
                )
                .label("the server refuses writes");
                if let Some(ro) = self.spec.shares.get(name).and_then(|s| s.readonly.as_ref()) {
                    d = d.with(ro.span, "read-only here");
                }
                self.diags.push(
                    d.help("write `readonly: true` (or leave it out), or make the share writable")
                        .suggest_part(r.span, "false", "true"),
                );
                true
            }
            Some(r) => r.value,
            None => share_readonly,
        }
    }

    fn mounting_machine(&self, client: &str, model: &Model) -> String {
        match model.guests.get(client) {
            Some(g) if g.kind == GuestKind::Lxc => g.host.clone(),
            _ => client.to_string(),
        }
    }

    /// One `share:NAME` entry of a guest's or host's `mounts:`.
    fn share_mount(&mut self, client: &str, m: &Entry<Mount>, guest: bool, model: &mut Model) {
        let from = &m.value.from;
        let Some(name) = from.value.strip_prefix(SHARE_PREFIX) else {
            // A host has no datasets to bind: its `mounts:` holds shares only.
            self.diags.push(
                Diagnostic::new(
                    Code::ShareMountUnfit,
                    from.span,
                    format!("a host's `mounts:` takes shares only, not `{}`", from.value),
                )
                .label("a host reaches its own folders without a mount")
                .help("write `share:NAME` for a share the host mounts, or give the folder to a guest's `mounts:`"),
            );
            return;
        };
        let Some(share) = model.shares.get(name) else {
            if !self.spec.shares.is_declared(name) || self.spec.shares.broken.iter().any(|b| b == name) {
                let candidates: Vec<&str> = self.spec.shares.names().collect();
                self.unknown(from.span, "share", name, candidates);
            }
            return;
        };
        if !m.name.starts_with('/') {
            self.diags.push(
                Diagnostic::new(
                    Code::SharePathInvalid,
                    m.key_span,
                    format!("mount point `{}` is not an absolute path", m.name),
                )
                .label("where the share appears on the client")
                .help(format!("write an absolute path such as `/mnt/{name}`")),
            );
            return;
        }
        let machine = self.mounting_machine(client, model);
        if machine == share.machine {
            self.diags.push(
                Diagnostic::new(
                    Code::ShareMountUnfit,
                    from.span,
                    format!("`{client}` mounts share `{name}`, which it serves itself"),
                )
                .label("a machine reads its own folder directly")
                .help(format!("bind the folder `{}` instead of the share", share.path)),
            );
            return;
        }
        let spec_share = self.spec.shares.get(name);
        let explicit = spec_share.is_some_and(|s| !s.clients.is_empty());
        let in_network = model.interfaces(client).iter().any(|i| share.networks.contains(&i.network));
        // Named itself, or its Proxmox host named (which admits every container it mounts for).
        let named = spec_share.is_some_and(|s| s.clients.iter().any(|c| c.value == client || c.value == machine));
        if explicit && !named && !in_network {
            let mut d = Diagnostic::new(
                Code::ShareClientNotAllowed,
                from.span,
                format!("`{client}` mounts share `{name}`, whose `clients:` do not admit it"),
            )
            .label("the server would refuse this mount");
            if let Some(list) = spec_share.and_then(|s| s.spans.value("clients")) {
                d = d.with(list, "the machines and networks allowed").suggest_edit(Edit::append(list, client));
            }
            self.diags.push(d.help(format!("add `{client}` to the share's `clients:`")));
        }
        let readonly = self.mount_readonly(name, client, m.value.readonly.as_ref(), share.readonly);
        let automount = m.value.automount == Some(true);
        let is_lxc = guest && model.guests.get(client).is_some_and(|g| g.kind == GuestKind::Lxc);
        if is_lxc {
            let on_host = host_path(name);
            if let Some(g) = model.guests.get_mut(client) {
                g.mounts.insert(m.name.clone(), on_host.clone());
            }
            match model.share_mounts.iter_mut().find(|x| x.machine == machine && x.share == name) {
                Some(x) => {
                    x.guests.push(client.to_string());
                    // The host mounts it writable when any container needs to write.
                    x.readonly &= readonly;
                }
                None => model.share_mounts.push(ShareMount {
                    share: name.to_string(),
                    machine,
                    path: on_host,
                    readonly,
                    automount,
                    guests: vec![client.to_string()],
                }),
            }
        } else {
            model.share_mounts.push(ShareMount {
                share: name.to_string(),
                machine,
                path: m.name.trim_end_matches('/').to_string(),
                readonly,
                automount,
                guests: Vec::new(),
            });
        }
    }
}

/// `NFS export` or `SMB share`.
fn what(kind: ShareKind) -> &'static str {
    match kind {
        ShareKind::Nfs => "NFS export",
        ShareKind::Smb => "SMB share",
    }
}

fn smb_name_hint(kind: ShareKind) -> &'static str {
    match kind {
        ShareKind::Nfs => "",
        ShareKind::Smb => " or `name`",
    }
}

/// The catalog port name of each kind's server.
fn port_name(kind: ShareKind) -> &'static str {
    match kind {
        ShareKind::Nfs => "nfs",
        ShareKind::Smb => "smb",
    }
}

/// Whether Samba accepts a share name as written in a section header: no brackets, slashes or
/// other punctuation that smb.conf or a UNC path would read otherwise.
fn valid_smb_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 80
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && !matches!(name.to_ascii_lowercase().as_str(), "global" | "homes" | "printers")
}
